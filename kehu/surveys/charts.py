"""A line chart for trends (CSAT, NPS by month), in the geometry style of ``kehu.forecast.charts``
(bars come from there): numbers in, SVG coordinates as strings out, 320-unit-wide ``viewBox``."""

from dataclasses import dataclass, field

from kehu.forecast.charts import WIDTH, _n

HEIGHT = 120
PAD_X, PAD_TOP, PAD_BOTTOM = 24, 12, 22


@dataclass
class Point:
    label: str
    text: str
    x: str
    y: str
    value_y: str


@dataclass
class Line:
    points: list[Point] = field(default_factory=list)
    path: str = ""
    zero_y: str | None = None
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def description(self) -> str:
        return "; ".join(f"{p.label}: {p.text}" for p in self.points)


def line(items: list[tuple[str, float | None, str]], *, low: float, high: float) -> Line:
    """``items``: (label, value or None, text) left to right, on a fixed ``low``…``high`` scale (CSAT
    1–5, NPS −100…100); a None value leaves a gap. A zero line is drawn when the scale crosses 0."""
    chart = Line()
    if not items:
        return chart
    span = (high - low) or 1.0
    usable_w = WIDTH - 2 * PAD_X
    usable_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = usable_w / max(len(items) - 1, 1)
    commands, pen_down = [], False
    for index, (label, value, text) in enumerate(items):
        x = PAD_X + index * step if len(items) > 1 else WIDTH / 2
        if value is None:
            pen_down = False
            y = HEIGHT - PAD_BOTTOM
        else:
            y = PAD_TOP + (high - float(value)) / span * usable_h
            commands.append(f"{'L' if pen_down else 'M'}{_n(x)} {_n(y)}")
            pen_down = True
        chart.points.append(
            Point(str(label), str(text), _n(x), _n(y) if value is not None else "", _n(y - 6))
        )
    chart.path = " ".join(commands)
    if low < 0 < high:
        chart.zero_y = _n(PAD_TOP + high / span * usable_h)
    return chart
