"""Reporting periods (month, quarter, or a from–to range of days) in the workspace's time zone.

A period is a range of calendar days ``start``–``end`` (both inclusive). Dates (an opportunity's
expected close date) compare with the days; moments (closed at, created at) with
``[start 00:00, day after end 00:00)`` in the workspace's time zone: a deal won at 00:30 on
1 January in Shanghai (still 31 December in UTC) counts for Q1 of the new year, not for Q4.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, ValidationFailed

MAX_RANGE_DAYS = 3 * 366 + 1  # reports over at most about three years

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Period:
    kind: str  # "month" | "quarter" | "range"
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        """``2026-Q4``, ``2026-11``, or ``2026-10-01..2026-12-31`` for a range."""
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return _("Q%(quarter)s %(year)s") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        if self.kind == "month":
            return _("%(year)s-%(month)02d") % {"year": self.start.year, "month": self.start.month}
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def bounds(self, tz) -> tuple[datetime, datetime]:
        """``[first moment, first moment after)`` of the period in ``tz`` (aware datetimes)."""
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def months(self) -> list["Period"]:
        """The calendar months in the period (a quarter's three)."""
        found, day = [], date(self.start.year, self.start.month, 1)
        while day <= self.end:
            found.append(month(day.year, day.month))
            day = _next_month(day)
        return found

    def shifted(self, steps: int) -> "Period":
        """The month or quarter ``steps`` periods later (earlier when negative)."""
        size = 3 if self.kind == "quarter" else 1
        index = self.start.year * 12 + self.start.month - 1 + steps * size
        year, month0 = divmod(index, 12)
        return quarter(year, month0 // 3 + 1) if self.kind == "quarter" else month(year, month0 + 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month(year: int, number: int) -> Period:
    start = date(year, number, 1)
    return Period("month", start, _next_month(start) - timedelta(days=1))


def quarter(year: int, number: int) -> Period:
    start = date(year, 3 * (number - 1) + 1, 1)
    end = _next_month(_next_month(_next_month(start))) - timedelta(days=1)
    return Period("quarter", start, end)


def workspace_tz(workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_in(workspace) -> date:
    return timezone.now().astimezone(workspace_tz(workspace)).date()


def current(workspace, kind: str = "quarter") -> Period:
    day = today_in(workspace)
    return month(day.year, day.month) if kind == "month" else quarter(day.year, (day.month - 1) // 3 + 1)


def parse_period(text: str | None, workspace, *, field: str = "period") -> Period:
    """``2026-Q4`` / ``2026Q4`` or ``2026-11``; empty means the current quarter."""
    text = (text or "").strip()
    if not text:
        return current(workspace)
    if m := _QUARTER.match(text):
        year = int(m.group(1))
        if 1900 <= year <= 2999:
            return quarter(year, int(m.group(2)))
    if m := _MONTH.match(text):
        year, number = int(m.group(1)), int(m.group(2))
        if 1900 <= year <= 2999 and 1 <= number <= 12:
            return month(year, number)
    raise ValidationFailed(
        [FieldError(field, _("Give a quarter like 2026-Q4 or a month like 2026-11."), "invalid")]
    )


def parse_range(start: date | None, end: date | None, period: str | None, workspace) -> Period:
    """The report range: ``from``/``to`` days (inclusive), else ``period``, else the current quarter."""
    if start is None and end is None:
        return parse_period(period, workspace)
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise ValidationFailed([FieldError(missing, _("Give both from and to."), "required")])
    if end < start:
        raise ValidationFailed([FieldError("to", _("The end is before the start."), "invalid")])
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationFailed([FieldError("to", _("Choose a range of at most three years."), "invalid")])
    return Period("range", start, end)
