"""Trend lines (CSAT, NPS by month): the project's line chart (``kehu.forecast.charts.line_chart``)
on a fixed scale, one unnamed series, every point labelled."""

from kehu.forecast.charts import LineChart, line_chart

HEIGHT = 120
PAD = (24, 24, 12, 22)  # left, right, top, bottom: room for the value above and the label below


def line(items: list[tuple[str, float | None, str]], *, low: float, high: float) -> LineChart:
    """``items``: (label, value or None, text) left to right, on a fixed ``low``…``high`` scale (CSAT
    1–5, NPS −100…100); a None value leaves a gap. A zero line is drawn when the scale crosses 0."""
    return line_chart(
        [label for label, _value, _text in items],
        [("", [(value, text) for _label, value, text in items])],
        low=low,
        high=high,
        height=HEIGHT,
        pad=PAD,
        max_ticks=None,
    )
