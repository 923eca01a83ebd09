"""The chart geometry shared by the dashboards: the squarified treemap layout and the line chart."""

import itertools
import random

import pytest

from kehu.forecast.charts import WIDTH, fit_text, line_chart, squarify, treemap, treemap_layout

EPS = 1e-6


def _check_tiling(values, rects, w, h, x0=0.0, y0=0.0):
    """Areas ∝ values, every rectangle inside the box, no two overlapping, the box filled."""
    total = sum(v for v in values if v > 0)
    for value, (x, y, rw, rh) in zip(values, rects, strict=True):
        if value <= 0:
            assert rw * rh == 0
            continue
        assert rw * rh == pytest.approx(value / total * w * h, rel=1e-9, abs=1e-9)
        assert x >= x0 - EPS and y >= y0 - EPS
        assert x + rw <= x0 + w + EPS and y + rh <= y0 + h + EPS
    drawn = [r for v, r in zip(values, rects, strict=True) if v > 0]
    for (ax, ay, aw, ah), (bx, by, bw, bh) in itertools.combinations(drawn, 2):
        overlap_w = min(ax + aw, bx + bw) - max(ax, bx)
        overlap_h = min(ay + ah, by + bh) - max(ay, by)
        assert overlap_w <= EPS or overlap_h <= EPS, "rectangles overlap"
    assert sum(rw * rh for _x, _y, rw, rh in drawn) == pytest.approx(w * h)


def test_squarify_reproduces_the_papers_example():
    """Bruls et al. (2000), figure 4: 6, 6, 4, 3, 2, 2, 1 in a 6 × 4 rectangle."""
    rects = squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4)
    rounded = [tuple(round(v, 3) for v in r) for r in rects]
    assert rounded[:2] == [(0, 0, 3, 2), (0, 2, 3, 2)]  # the two 6s: a column of two squares
    assert rounded[2:4] == [(3, 0, 1.714, 2.333), (4.714, 0, 1.286, 2.333)]  # 4 and 3 on top
    assert [r[1] for r in rounded[4:]] == [2.333] * 3  # 2, 2, 1 in the last row
    _check_tiling([6, 6, 4, 3, 2, 2, 1], rects, 6, 4)


@pytest.mark.parametrize("seed", range(20))
def test_layout_is_a_proportional_non_overlapping_tiling(seed):
    rng = random.Random(seed)
    values = [rng.choice([0, rng.random(), rng.randint(1, 1000)]) for _i in range(rng.randint(1, 40))]
    w, h = rng.uniform(50, 400), rng.uniform(50, 400)
    if sum(values) == 0:
        values.append(1)
    rects = treemap_layout(values, w, h, 10, 20)
    _check_tiling(values, rects, w, h, 10, 20)


def test_cells_are_close_to_squares():
    """What squarifying is for: equal values in a square box come out as squares, not strips."""
    rects = treemap_layout([1] * 16, 100, 100)
    assert all(abs(rw / rh - 1) < 0.01 for _x, _y, rw, rh in rects)


def test_layout_order_is_stable():
    """Largest first, equal values in the order given, and the same data always gives the same map."""
    values = [5, 10, 5, 10, 1]
    rects = treemap_layout(values, 300, 200)
    assert rects == treemap_layout(list(values), 300, 200)
    assert (rects[1][0], rects[1][1]) == (0, 0)  # the first of the two largest takes the corner
    first_five, second_five = rects[0], rects[2]
    assert (first_five[0], first_five[1]) <= (second_five[0], second_five[1])


def test_fit_text_elides_or_drops():
    assert fit_text("Champions", 200, 11) == "Champions"
    short = fit_text("Potential loyalists", 50, 11)
    assert short.endswith("…") and len(short) < len("Potential loyalists")
    assert fit_text("战略客户（华东）", 30, 11).endswith("…")  # wide characters take a whole em
    assert fit_text("Lost", 4, 11) == ""


def test_treemap_geometry_labels_and_colours():
    chart = treemap([(("Ordinary",), 60, "60"), (("Strategic",), 10, "10"), (("Important",), 30, "30")])
    assert [c.label for c in chart.cells] == ["Ordinary", "Important", "Strategic"]  # largest first
    assert [c.css for c in chart.cells] == ["series-0", "series-1", "series-2"]
    big = chart.cells[0]
    assert big.title == "Ordinary: 60 (60%)"
    assert big.shown_label == "Ordinary" and big.shown_value == "60 · 60%"
    assert float(big.w) * float(big.h) == pytest.approx(WIDTH * chart.height * 0.6, rel=0.01)
    assert big.ink == "ink-light" and chart.cells[1].ink == "ink-dark"  # contrast with the colour
    assert chart.description == "Ordinary: 60 (60%); Important: 30 (30%); Strategic: 10 (10%)"
    assert [entry[0] for entry in chart.legend] == ["Ordinary", "Important", "Strategic"]


def test_treemap_values_are_never_shortened():
    """A narrow cell shows its value without the share, or no value — never a cut-off number."""

    def narrow(value):
        return treemap([(("Wide",), 1_000, "1,000"), (("N",), value, "123,456,789")]).cells[1]

    assert narrow(300).shown_value == "123,456,789"  # 74 wide: room for the value, not its share
    assert narrow(200).shown_label == "N" and narrow(200).shown_value == ""  # 53 wide: no room
    assert treemap([(("Wide",), 1, "1")]).cells[0].shown_value == "1 · 100%"


def test_treemap_tiny_cells_keep_their_title_but_no_label():
    chart = treemap([(("Big",), 10_000, "10,000"), (("A rather long segment name",), 1, "1")])
    tiny = chart.cells[1]
    assert tiny.shown_label == "" and tiny.shown_value == ""
    assert tiny.title == "A rather long segment name: 1 (0%)"


def test_treemap_leaves_out_empty_and_negative_groups():
    chart = treemap([(("a",), 0, "0"), (("b",), None, "—"), (("c",), -3, "-3"), (("d",), 2, "2")])
    assert [c.label for c in chart.cells] == ["d"]


def test_nested_treemap_cells_stay_inside_their_group():
    items = [
        (("Strategic", "Active"), 30, "30"),
        (("Strategic", "At risk"), 10, "10"),
        (("Ordinary", "Active"), 40, "40"),
        (("Ordinary", "Churned"), 20, "20"),
    ]
    chart = treemap(items)
    boxes = {b.label: tuple(map(float, (b.x, b.y, b.w, b.h))) for b in chart.groups}
    assert set(boxes) == {"Strategic", "Ordinary"}
    assert boxes["Ordinary"][2] * boxes["Ordinary"][3] == pytest.approx(WIDTH * chart.height * 0.6, rel=0.01)
    for cell in chart.cells:
        group = cell.title.split(" · ")[0]
        gx, gy, gw, gh = boxes[group]
        x, y, w, h = map(float, (cell.x, cell.y, cell.w, cell.h))
        assert gx - 0.1 <= x and x + w <= gx + gw + 0.1 and gy - 0.1 <= y and y + h <= gy + gh + 0.1
    # Cells take their group's colour; the legend names the groups.
    assert {c.css for c in chart.cells if c.title.startswith("Ordinary")} == {"series-0"}
    assert [entry[:3] for entry in chart.legend] == [
        ("Strategic", "series-1", "40"),
        ("Ordinary", "series-0", "60"),
    ]
    assert chart.cells[0].title == "Strategic · Active: 30 (30%)"


def test_line_chart_scale_gaps_and_ticks():
    xs = [f"m{i}" for i in range(12)]
    values = [(float(i), str(i)) if i != 5 else None for i in range(12)]
    chart = line_chart(xs, [("Count", values)], height=160, pad=(8, 8, 10, 28))
    series = chart.series[0]
    assert series.path.count("M") == 2  # the pen lifts at the missing month
    assert float(series.points[11].y) == 10 and float(series.points[0].y) == 132  # top and baseline
    assert series.points[5].y == "" and len(series.dots) == 11
    assert [label for _x, label in chart.ticks] == ["m0", "m2", "m4", "m6", "m8", "m10"]  # at most 6
    joined = line_chart(xs, [("Count", values)], join_gaps=True)
    assert joined.series[0].path.count("M") == 1
    assert chart.description.startswith("Count: m0: 0, m1: 1")


def test_line_chart_fixed_scale_zero_line_and_single_point():
    chart = line_chart(["a", "b"], [("", [(-50, "-50"), (50, "50")])], low=-100, high=100, height=120)
    assert chart.zero_y is not None and chart.description == "a: -50; b: 50"
    one = line_chart(["only"], [("", [(3, "3")])], low=1, high=5)
    assert float(one.points[0].x) == WIDTH / 2  # a lone point sits in the middle
