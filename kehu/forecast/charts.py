"""Chart geometry for the sales dashboard: numbers in, SVG coordinates out.

The dashboard draws its charts as inline SVG from templates (no JavaScript, no chart library, no
inline styles — nothing the CSP has to allow). Coordinates are in a 320-unit-wide ``viewBox`` that
scales to the card, so a chart is as readable on a 390 px phone as on a desktop: every bar has its
label on its own line above it, never squeezed beside it. Coordinates are strings formatted here,
so the template never localises a decimal point into a comma.
"""

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
