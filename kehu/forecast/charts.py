"""Chart geometry of the project (bars, stacks, lines, treemaps): numbers in, SVG coordinates out.

Born for the sales dashboard; reports, dashboards and the satisfaction trends draw with it too, so
there is one implementation of each chart kind.

The dashboard draws its charts as inline SVG from templates (no JavaScript, no chart library, no
inline styles — nothing the CSP has to allow). Coordinates are in a 320-unit-wide ``viewBox`` that
scales to the card, so a chart is as readable on a 390 px phone as on a desktop: every bar has its
label on its own line above it, never squeezed beside it. Coordinates are strings formatted here,
so the template never localises a decimal point into a comma.
"""

import math
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 320
BAR_H = 14
ROW_H = 40
LABEL_DY = 12  # baseline of the label inside its row
BAR_DY = 18  # top of the bar inside its row


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass
class Row:
    label: str
    text: str
    label_y: str
    bar_y: str
    bar_w: str
    text_x: str
    text_y: str
    css: str = ""
    marker_x: str | None = None
    marker_y1: str = ""
    marker_y2: str = ""


@dataclass
class Chart:
    height: str
    rows: list[Row] = field(default_factory=list)
    bar_h: int = BAR_H
    width: int = WIDTH

    @property
    def description(self) -> str:
        """The chart as a sentence for screen readers (its ``<desc>``)."""
        return "; ".join(f"{row.label}: {row.text}" for row in self.rows)


def bars(items: list[tuple], *, scale: float | None = None) -> Chart:
    """Horizontal bars: ``items`` are ``(label, value, text[, css[, marker]])``; a marker (e.g. the
    quota) is drawn as a tick on the same scale. Values ≤ 0 or None draw no bar."""
    values = []
    for item in items:
        values.append(float(item[1] or 0))
        if len(item) > 4 and item[4] is not None:
            values.append(float(item[4]))
    top = scale or max(values, default=0) or 1.0
    usable = WIDTH - 64  # room for the value text right of the longest bar
    rows = []
    for index, item in enumerate(items):
        label, value, text = item[0], float(item[1] or 0), item[2]
        css = item[3] if len(item) > 3 else ""
        marker = item[4] if len(item) > 4 else None
        y = index * ROW_H
        width = max(value, 0) / top * usable
        row = Row(
            label=str(label),
            text=str(text),
            label_y=_n(y + LABEL_DY),
            bar_y=_n(y + BAR_DY),
            bar_w=_n(width),
            text_x=_n(width + 4),
            text_y=_n(y + BAR_DY + BAR_H - 3),
            css=css,
        )
        if marker is not None:
            x = float(marker) / top * usable
            row.marker_x, row.marker_y1, row.marker_y2 = _n(x), _n(y + BAR_DY - 3), _n(y + BAR_DY + BAR_H + 3)
            row.text_x = _n(max(width, x) + 4)
        rows.append(row)
    return Chart(height=_n(len(items) * ROW_H + 4), rows=rows)


@dataclass
class Segment:
    label: str
    text: str
    x: str
    w: str
    css: str


@dataclass
class Stack:
    """One stacked bar (won | commit | best case | pipeline) with the quota as a marker line."""

    segments: list[Segment]
    quota_x: str | None
    quota_text: str
    width: int = WIDTH

    @property
    def description(self) -> str:
        parts = [f"{s.label}: {s.text}" for s in self.segments]
        if self.quota_text:
            parts.append(self.quota_text)
        return "; ".join(parts)


def stack(parts: list[tuple[str, Decimal, str, str]], quota: Decimal | None, quota_text: str) -> Stack:
    """``parts``: (label, amount, text, css) left to right; scaled so the quota (if any) fits too."""
    total = sum(float(p[1]) for p in parts)
    top = max(total, float(quota or 0)) or 1.0
    segments, x = [], 0.0
    for label, amount, text, css in parts:
        w = float(amount) / top * WIDTH
        segments.append(Segment(str(label), str(text), _n(x), _n(w), css))
        x += w
    quota_x = _n(min(float(quota) / top * WIDTH, WIDTH - 1)) if quota else None
    return Stack(segments, quota_x, quota_text if quota else "")


# --- lines --------------------------------------------------------------------------------------------
# The one line-chart geometry of the project (reports, satisfaction trends): x labels spread evenly
# across the width, values on a linear ``low``…``high`` scale, each series a path whose pen lifts at a
# missing value (or, with ``join_gaps``, runs straight on to the next one).


@dataclass
class LinePoint:
    label: str  # the x label
    text: str  # the value as shown
    x: str
    y: str  # "" where the series has no value
    value_y: str  # baseline of a value text above the point


@dataclass
class LineSeries:
    label: str
    css: str
    points: list[LinePoint]
    path: str  # "M x y L x y …" for <path d>

    @property
    def dots(self) -> list[LinePoint]:
        return [p for p in self.points if p.y]


@dataclass
class LineChart:
    series: list[LineSeries]
    ticks: list[tuple[str, str]]  # (x, label) along the bottom
    height: int
    baseline_y: str
    high: float
    zero_y: str | None = None
    top_text: str = ""
    width: int = WIDTH

    @property
    def points(self) -> list[LinePoint]:
        """The first series' points (one-line charts)."""
        return self.series[0].points if self.series else []

    @property
    def path(self) -> str:
        return self.series[0].path if self.series else ""

    @property
    def description(self) -> str:
        if len(self.series) == 1 and not self.series[0].label:
            return "; ".join(f"{p.label}: {p.text}" for p in self.series[0].points)
        return "; ".join(
            f"{s.label}: " + ", ".join(f"{p.label}: {p.text}" for p in s.dots) for s in self.series
        )


LINE_H = 160
LINE_PAD = (8, 8, 10, 28)  # left, right, top, bottom


def line_chart(
    xs: list[str],
    series: list[tuple[str, list[tuple[float | None, str] | None]]],
    *,
    low: float = 0.0,
    high: float | None = None,
    height: int = LINE_H,
    pad: tuple[int, int, int, int] = LINE_PAD,
    join_gaps: bool = False,
    max_ticks: int | None = 6,
    css: str = "series-{n}",
) -> LineChart:
    """``series``: (name, one ``(value, text)`` or None per x) in drawing order; ``high`` defaults to
    the largest value (1 when there is none). At most ``max_ticks`` x labels (every k-th), so they
    never overlap on a phone; None labels every x. ``css`` names the n-th series' colour class."""
    pad_l, pad_r, pad_t, pad_b = pad
    values = [float(v[0]) for _name, points in series for v in points if v is not None and v[0] is not None]
    top = high if high is not None else (max(values, default=0.0) or 1.0)
    span = (top - low) or 1.0
    inner_w, inner_h = WIDTH - pad_l - pad_r, height - pad_t - pad_b
    step = inner_w / max(len(xs) - 1, 1)

    def x_of(i: int) -> float:
        return pad_l + inner_w / 2 if len(xs) == 1 else pad_l + i * step

    def y_of(value: float) -> float:
        return pad_t + (top - value) / span * inner_h

    drawn = []
    for n, (name, points) in enumerate(series):
        out, commands, pen_down = [], [], False
        for i, x in enumerate(xs):
            item = points[i] if i < len(points) else None
            if item is None or item[0] is None:
                pen_down = pen_down and join_gaps
                text = item[1] if item is not None else ""
                out.append(LinePoint(str(x), text, _n(x_of(i)), "", _n(pad_t + inner_h - 6)))
                continue
            px, py = x_of(i), y_of(float(item[0]))
            commands.append(f"{'L' if pen_down else 'M'}{_n(px)} {_n(py)}")
            pen_down = True
            out.append(LinePoint(str(x), str(item[1]), _n(px), _n(py), _n(py - 6)))
        drawn.append(LineSeries(str(name), css.format(n=n), out, " ".join(commands)))
    every = max(1, math.ceil(len(xs) / max_ticks)) if max_ticks else 1
    ticks = [(_n(x_of(i)), str(x)) for i, x in enumerate(xs) if i % every == 0]
    return LineChart(
        series=drawn,
        ticks=ticks,
        height=height,
        baseline_y=_n(pad_t + inner_h),
        high=top,
        zero_y=_n(y_of(0.0)) if low < 0 < top else None,
    )


# --- treemap ------------------------------------------------------------------------------------------
# Squarified treemap (Bruls, Huizing & van Wijk, "Squarified Treemaps", 2000): rectangles with areas
# proportional to the values, laid out row by row along the shorter side of the space left, a row
# growing while that keeps its worst aspect ratio from getting worse — so cells stay close to squares
# and readable, unlike slice-and-dice strips.

TREEMAP_H = 200
SERIES = 8
# Series colours (reports.css ``series-0`` … ``series-7``) on which white text has the better
# contrast; on the others labels are dark.
LIGHT_INK = {0, 5, 6}
TREEMAP_LABEL = 11  # font size of a cell's label (user units), the value line one smaller
TREEMAP_PAD = 3


def _worst(row: list[float], side: float) -> float:
    """The worst aspect ratio of a row of areas laid along a side of length ``side``."""
    total = sum(row)
    big, small = max(row), min(row)
    return max(side * side * big / (total * total), (total * total) / (side * side * small))


def squarify(values: list[float], x: float, y: float, w: float, h: float) -> list[tuple[float, ...]]:
    """Rectangles ``(x, y, w, h)`` tiling the box, one per value, in the order given; values must be
    positive and sorted largest first (the algorithm's precondition)."""
    total = sum(values)
    if not values or total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0) for _v in values]
    areas = [v / total * w * h for v in values]
    rects: list[tuple[float, ...]] = []
    i = 0
    while i < len(areas):
        side = min(w, h)  # rows are laid along the shorter side of the space left
        row = [areas[i]]
        i += 1
        while i < len(areas) and _worst([*row, areas[i]], side) <= _worst(row, side):
            row.append(areas[i])
            i += 1
        size = sum(row)
        last = i == len(areas)
        # A wide space takes the row as a column at its left (the full height), a tall one as a row
        # at its top (the full width); the last row fills what is left, so rounding leaves no gap.
        vertical = w >= h  # then ``side`` (the shorter one) is the height
        thick = (w if vertical else h) if last else size / side
        start = pos = y if vertical else x
        for n, area in enumerate(row):
            length = (start + side - pos) if n == len(row) - 1 else area / thick
            rects.append((x, pos, thick, length) if vertical else (pos, y, length, thick))
            pos += length
        if vertical:
            x, w = x + thick, max(w - thick, 0.0)
        else:
            y, h = y + thick, max(h - thick, 0.0)
    return rects


def treemap_layout(values: list[float], w: float, h: float, x: float = 0.0, y: float = 0.0) -> list:
    """``squarify`` for values in any order: laid out largest first (ties in the given order, so the
    same data always gives the same picture), returned in the given order; values ≤ 0 get no area."""
    order = sorted((i for i, v in enumerate(values) if v > 0), key=lambda i: (-values[i], i))
    rects = squarify([values[i] for i in order], x, y, w, h)
    out: list = [(x, y, 0.0, 0.0)] * len(values)
    for i, rect in zip(order, rects, strict=True):
        out[i] = rect
    return out


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: wide (CJK) characters one em, others a little over half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.58 for ch in text)


def fit_text(text: str, width: float, size: float) -> str:
    """``text`` if it fits in ``width``, else shortened with "…", else "" (not even one character)."""
    if _text_width(text, size) <= width:
        return text
    for end in range(len(text) - 1, 0, -1):
        short = text[:end].rstrip() + "…"
        if _text_width(short, size) <= width:
            return short
    return ""


@dataclass
class Cell:
    label: str  # the full label
    title: str  # label, value and share (the tooltip)
    x: str
    y: str
    w: str
    h: str
    css: str
    ink: str
    text_x: str
    label_y: str
    value_y: str
    shown_label: str  # elided to fit, or ""
    shown_value: str


@dataclass
class Box:
    """The outline of a first-level group in a two-level treemap."""

    label: str
    x: str
    y: str
    w: str
    h: str


@dataclass
class Treemap:
    cells: list[Cell]
    groups: list[Box]
    legend: list[tuple[str, str, str, str]]  # (label, css, text, share)
    height: int = TREEMAP_H
    width: int = WIDTH

    @property
    def description(self) -> str:
        return "; ".join(c.title for c in self.cells)


def _share(value: float, total: float) -> str:
    return f"{value / total:.0%}" if total else ""


def treemap(items: list[tuple], *, height: int = TREEMAP_H) -> Treemap:
    """``items``: ``(labels, value, text)`` with one label, or two (group, label) for a nested map:
    the groups are laid out first, then each group's cells inside it, coloured by group. Values ≤ 0
    or None are left out (no area to draw)."""
    items = [(tuple(labels), float(value), str(text)) for labels, value, text in items if (value or 0) > 0]
    total = sum(v for _l, v, _t in items)
    nested = any(len(labels) > 1 for labels, _v, _t in items)
    groups: dict[str, list] = {}
    for labels, value, text in items:
        groups.setdefault(labels[0] if nested else "", []).append((labels[-1], value, text))
    names = list(groups)
    sums = [sum(v for _l, v, _t in groups[g]) for g in names]
    outer = treemap_layout(sums, WIDTH, height) if nested else [(0.0, 0.0, float(WIDTH), float(height))]
    # Colours follow size: the biggest group (or cell) gets the first colour, whatever the data order.
    rank = {g: r for r, g in enumerate(sorted(range(len(names)), key=lambda i: (-sums[i], i)))}
    cells, boxes, legend = [], [], []
    for gi, name in enumerate(names):
        members = groups[name]
        gx, gy, gw, gh = outer[gi]
        rects = treemap_layout([v for _l, v, _t in members], gw, gh, gx, gy)
        order = sorted(range(len(members)), key=lambda i: (-members[i][1], i))
        if nested:
            boxes.append(Box(name, _n(gx), _n(gy), _n(gw), _n(gh)))
            css_n = rank[gi] % SERIES
            legend.append((name, f"series-{css_n}", _plain_text(sums[gi]), _share(sums[gi], total)))
        for position, mi in enumerate(order):
            label, value, text = members[mi]
            n = css_n if nested else position % SERIES
            x, y, w, h = rects[mi]
            share = _share(value, total)
            full = f"{name} · {label}" if nested else label
            room_w, room_h = w - 2 * TREEMAP_PAD, h - 2 * TREEMAP_PAD
            shown_label = fit_text(label, room_w, TREEMAP_LABEL) if room_h >= TREEMAP_LABEL else ""
            shown_value = ""
            if shown_label and room_h >= 2 * TREEMAP_LABEL + 2:
                # A number is never cut short (a shortened "1,2…" would misread): the value with its
                # share, else the value alone, else nothing.
                for line in (f"{text} · {share}", text):
                    if _text_width(line, TREEMAP_LABEL - 1) <= room_w:
                        shown_value = line
                        break
            cells.append(
                Cell(
                    label=label,
                    title=f"{full}: {text} ({share})",
                    x=_n(x),
                    y=_n(y),
                    w=_n(w),
                    h=_n(h),
                    css=f"series-{n}",
                    ink="ink-light" if n in LIGHT_INK else "ink-dark",
                    text_x=_n(x + TREEMAP_PAD),
                    label_y=_n(y + TREEMAP_PAD + TREEMAP_LABEL - 1),
                    value_y=_n(y + TREEMAP_PAD + 2 * TREEMAP_LABEL + 1),
                    shown_label=shown_label,
                    shown_value=shown_value,
                )
            )
            if not nested:
                legend.append((label, f"series-{n}", text, share))
    return Treemap(cells, boxes, legend, height=height)


def _plain_text(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
