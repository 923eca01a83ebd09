"""Chart geometry for reports: bars, lines and treemaps from ``kehu.forecast.charts`` (the project's one
implementation of each), fed from a report's result here; pies and funnels here.

Same rules as the sales dashboard: numbers in, SVG coordinates (formatted strings) out, drawn by
templates as inline SVG in a 320-unit-wide ``viewBox`` — no JavaScript chart library, nothing the CSP
must allow. Colours are CSS classes (``series-0`` … ``series-7``), never inline styles.
"""

import math
from dataclasses import dataclass

from kehu.forecast.charts import SERIES, WIDTH, Chart, LineChart, Treemap, _n, bars, treemap
from kehu.forecast.charts import line_chart as lines_geometry

from .engine import Result


def _text(value) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else str(value)


def bar_chart(result: Result) -> Chart:
    return bars([(row.label, row.value or 0, _text(row.value)) for row in result.rows])


def line_chart(result: Result) -> LineChart:
    """The last dimension along the x axis; with two dimensions one line per value of the first (at
    most eight). A group with no records at an x is skipped and its line runs on to the next one."""
    two = len(result.dimensions) == 2
    xs: list[str] = []
    lines: dict[str, dict[str, float]] = {}
    for row in result.rows:
        x = row.labels[-1] if row.labels else ""
        name = row.labels[0] if two else (result.measures[0] if result.measures else "")
        if x not in xs:
            xs.append(x)
        lines.setdefault(name, {})[x] = float(row.value or 0)
    if result.dated and result.dated[-1]:
        xs.sort()
    series = [
        (name, [(values[x], _text(_plain(values[x]))) if x in values else None for x in xs])
        for name, values in list(lines.items())[:SERIES]
    ]
    chart = lines_geometry(xs, series, join_gaps=True)
    chart.top_text = _text(_plain(chart.high))
    return chart


def _plain(value: float):
    return int(value) if float(value).is_integer() else round(value, 2)


@dataclass
class Slice:
    label: str
    text: str
    path: str
    css: str
    share: str


@dataclass
class PieChart:
    slices: list[Slice]
    size: int = 160

    @property
    def description(self) -> str:
        return "; ".join(f"{s.label}: {s.text} ({s.share})" for s in self.slices)


def pie_chart(result: Result) -> PieChart:
    """Slices of the first value; more than eight groups: the smallest folded into "other"."""
    from django.utils.translation import gettext as _

    items = [(row.label, float(row.value or 0)) for row in result.rows if (row.value or 0) > 0]
    items.sort(key=lambda item: -item[1])
    if len(items) > SERIES:
        rest = sum(v for _label, v in items[SERIES - 1 :])
        items = [*items[: SERIES - 1], (_("Other"), rest)]
    total = sum(v for _label, v in items) or 1.0
    r, c = 70.0, 80.0
    slices, angle = [], -math.pi / 2
    for n, (label, value) in enumerate(items):
        sweep = value / total * 2 * math.pi
        if sweep >= 2 * math.pi - 1e-9:  # one slice: a full circle (an arc cannot start where it ends)
            half = f"A {_n(r)} {_n(r)} 0 1 1"
            path = f"M {_n(c - r)} {_n(c)} {half} {_n(c + r)} {_n(c)} {half} {_n(c - r)} {_n(c)} Z"
        else:
            x1, y1 = c + r * math.cos(angle), c + r * math.sin(angle)
            x2, y2 = c + r * math.cos(angle + sweep), c + r * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            path = f"M {_n(c)} {_n(c)} L {_n(x1)} {_n(y1)} A {_n(r)} {_n(r)} 0 {large} 1 {_n(x2)} {_n(y2)} Z"
        angle += sweep
        slices.append(
            Slice(str(label), _text(_plain(value)), path, f"series-{n % SERIES}", f"{value / total:.0%}")
        )
    return PieChart(slices)


@dataclass
class Step:
    label: str
    text: str
    x: str
    y: str
    w: str
    label_y: str
    rate: str


@dataclass
class FunnelChart:
    height: str
    steps: list[Step]
    bar_h: int = 22
    width: int = WIDTH
    centre: str = _n(WIDTH / 2)

    @property
    def description(self) -> str:
        return "; ".join(f"{s.label}: {s.text} {s.rate}".strip() for s in self.steps)


def funnel_chart(result: Result) -> FunnelChart:
    """Centred bars in the report's order, each with its share of the first step."""
    rows = [(row.label, float(row.value or 0)) for row in result.rows]
    top = max((v for _label, v in rows), default=0) or 1.0
    first = rows[0][1] if rows else 0
    steps = []
    for i, (label, value) in enumerate(rows):
        w = max(value / top * WIDTH, 2)
        y = i * 44
        rate = f"{value / first:.0%}" if first and i else ""
        steps.append(
            Step(label, _text(_plain(value)), _n((WIDTH - w) / 2), _n(y + 16), _n(w), _n(y + 12), rate)
        )
    return FunnelChart(_n(len(rows) * 44 + 4), steps)


def treemap_chart(result: Result) -> Treemap:
    """Areas of the first value per group; with two dimensions the first one's groups hold the
    second one's cells (e.g. grade × lifecycle stage)."""
    return treemap([(row.labels or (row.label,), row.value or 0, _text(row.value)) for row in result.rows])


def chart_for(kind: str, result: Result):
    """The geometry the tile's template draws, or None for a table."""
    if not result.rows or kind == "table":
        return None
    return {
        "bar": bar_chart,
        "line": line_chart,
        "pie": pie_chart,
        "funnel": funnel_chart,
        "treemap": treemap_chart,
    }[kind](result)
