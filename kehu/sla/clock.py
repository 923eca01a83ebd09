"""Business-time arithmetic on a calendar: pure functions, exact to the minute, by intervals.

A calendar is open on each local day during that day's intervals: the weekly hours of its weekday,
or the hours of an exception for that date (a holiday closes the day, an adjusted working day 调休
opens it). Intervals are written in the calendar's wall-clock time and converted to UTC one day at
a time, so a day that contains a DST change is as long as it really was.

Nothing here steps through time minute by minute or hour by hour. A span of days is counted
arithmetically: whole weeks × the minutes of a normal week, the leftover weekdays from a table, then
a correction for each *special* day inside the span (an exception, or a day with a UTC offset
change), found by bisection in sorted tuples. Adding minutes jumps whole weeks the same way and only
walks the last few days. All datetimes are aware; results are in UTC.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # minutes after local midnight, start < end <= 1440
DayHours = tuple[Interval, ...]

DEFAULT_WEEKLY: tuple[DayHours, ...] = (((540, 720), (780, 1080)),) * 5 + ((), ())  # Mon–Fri 9–12, 13–18
MAX_DAYS = 366 * 20  # a target that cannot be reached within 20 years is a configuration error


def parse_hhmm(text: str) -> int:
    """ "09:30" → 570; "24:00" is the end of the day (1440)."""
    hours, _, minutes = text.strip().partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not (0 <= int(hours) <= 24 and 0 <= int(minutes or 0) < 60 and value <= 1440):
        raise ValueError(text)
    return value


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalise_hours(intervals: Iterable) -> DayHours:
    """Intervals given as ["09:00", "12:00"] pairs or (540, 720) minutes → sorted, merged minute pairs.

    Raises ValueError for an interval that ends before it starts or a malformed time."""
    pairs = []
    for item in intervals:
        start, end = item
        start = parse_hhmm(start) if isinstance(start, str) else int(start)
        end = parse_hhmm(end) if isinstance(end, str) else int(end)
        if not 0 <= start < end <= 1440:
            raise ValueError(f"{start}-{end}")
        pairs.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(pairs):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


@dataclass(frozen=True, eq=False)
class CalendarSpec:
    """Everything the arithmetic needs from a calendar, without a database.

    ``weekly`` holds seven day-hours (Monday first); ``exceptions`` maps a date to its hours (an
    empty tuple = closed all day). Build with ``CalendarSpec.build(...)`` to normalise input.
    """

    time_zone: str = "Asia/Shanghai"
    weekly: tuple[DayHours, ...] = DEFAULT_WEEKLY
    exceptions: Mapping[date, DayHours] = field(default_factory=dict)
    # Derived once (see __post_init__); not part of equality.
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    weekday_minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    week_minutes: int = field(init=False, repr=False, compare=False)
    exception_dates: tuple[date, ...] = field(init=False, repr=False, compare=False)
    # prefix[i] = open minutes of the first i days of a week starting on Monday, for leftover days
    prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(self.weekly) != 7:
            raise ValueError("weekly needs seven days")
        minutes = tuple(sum(e - s for s, e in day) for day in self.weekly)
        set_ = object.__setattr__
        set_(self, "zone", ZoneInfo(self.time_zone))
        set_(self, "weekday_minutes", minutes)
        set_(self, "week_minutes", sum(minutes))
        set_(self, "exception_dates", tuple(sorted(self.exceptions)))
        doubled = minutes + minutes
        set_(self, "prefix", tuple(sum(doubled[:i]) for i in range(15)))

    @classmethod
    def build(cls, time_zone: str, weekly: Iterable[Iterable], exceptions: Mapping | None = None):
        """Normalise weekly hours and exceptions given as "HH:MM" pairs or minutes."""
        return cls(
            time_zone=time_zone,
            weekly=tuple(normalise_hours(day) for day in weekly),
            exceptions={d: normalise_hours(hours) for d, hours in (exceptions or {}).items()},
        )

    @property
    def workday_hours(self) -> DayHours:
        """The hours of a normal working day (the first open weekday): an adjusted workday's default."""
        return next((day for day in self.weekly if day), ())

    def hours_on(self, day: date) -> DayHours:
        """The local open intervals of a date (its exception's, else its weekday's)."""
        found = self.exceptions.get(day)
        return found if found is not None else self.weekly[day.weekday()]


# --- days in UTC -------------------------------------------------------------------------------------


def _to_utc(spec: CalendarSpec, day: date, minutes: int) -> datetime:
    # Wall-clock time + zone → UTC. A time inside a spring-forward gap maps like zoneinfo's fold=0 (the
    # offset before the change): 02:30 on a US spring-forward day = 03:30 new time.
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=spec.zone).astimezone(UTC)


def day_intervals(spec: CalendarSpec, day: date) -> list[tuple[datetime, datetime]]:
    """The open intervals of a local date as UTC datetimes (DST-correct)."""
    out = []
    for start, end in spec.hours_on(day):
        a, b = _to_utc(spec, day, start), _to_utc(spec, day, end)
        if b > a:
            out.append((a, b))
    return out


@functools.lru_cache(maxsize=512)
def offset_change_dates(time_zone: str, year: int) -> tuple[date, ...]:
    """Local dates of a year on which the zone's UTC offset changes (DST), found by bisection.

    Offsets are sampled every 7 days (no zone changes twice within a week); each change is then
    pinned to the minute by bisection, so a year costs ~60 offset look-ups, once (cached)."""
    zone = ZoneInfo(time_zone)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC) - timedelta(days=1)
    stop = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC) + timedelta(days=1)
    found: set[date] = set()
    probe = start
    while probe < stop:
        nxt = min(probe + timedelta(days=7), stop)
        if probe.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = probe, nxt  # offset(lo) != offset(hi): shrink to one minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            for instant in (lo, hi):
                local = instant.astimezone(zone).date()
                if local.year == year:
                    found.add(local)
        probe = nxt
    return tuple(sorted(found))


def _special_dates(spec: CalendarSpec, first: date, last: date) -> list[date]:
    """Exception dates and offset-change dates within [first, last], sorted, distinct."""
    lo = bisect.bisect_left(spec.exception_dates, first)
    hi = bisect.bisect_right(spec.exception_dates, last)
    days = set(spec.exception_dates[lo:hi])
    for year in range(first.year, last.year + 1):
        days.update(d for d in offset_change_dates(spec.time_zone, year) if first <= d <= last)
    return sorted(days)


def _seconds_on(spec: CalendarSpec, day: date) -> int:
    """Open seconds of a local date: wall-clock arithmetic, unless the zone's offset changes that day."""
    if day in offset_change_dates(spec.time_zone, day.year):
        return sum(int((b - a).total_seconds()) for a, b in day_intervals(spec, day))
    return sum(e - s for s, e in spec.hours_on(day)) * 60


def _normal_minutes(spec: CalendarSpec, first: date, count: int) -> int:
    """Open minutes of ``count`` consecutive days from ``first`` by the weekly hours alone."""
    weeks, rest = divmod(count, 7)
    wd = first.weekday()
    return weeks * spec.week_minutes + spec.prefix[wd + rest] - spec.prefix[wd]


def seconds_in_days(spec: CalendarSpec, first: date, last: date) -> int:
    """Open seconds of the whole local days first..last (inclusive), by arithmetic + corrections."""
    if last < first:
        return 0
    total = _normal_minutes(spec, first, (last - first).days + 1) * 60
    for day in _special_dates(spec, first, last):
        total += _seconds_on(spec, day) - spec.weekday_minutes[day.weekday()] * 60
    return total


def as_spec(calendar) -> CalendarSpec:
    """A ``CalendarSpec`` as is; a ``BusinessCalendar`` row through the services' cached builder."""
    if isinstance(calendar, CalendarSpec):
        return calendar
    from .services import calendar_spec  # the one place that reads rows; the arithmetic stays pure

    return calendar_spec(calendar)


def _check(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return value.astimezone(UTC)


def _local_date(spec: CalendarSpec, value: datetime) -> date:
    return value.astimezone(spec.zone).date()


def _seconds_within(spec: CalendarSpec, day: date, start: datetime, end: datetime) -> int:
    total = 0
    for a, b in day_intervals(spec, day):
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += int((hi - lo).total_seconds())
    return total


# --- the public functions ----------------------------------------------------------------------------


def business_seconds_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Open seconds in [start, end); 0 when end is not after start."""
    spec = as_spec(spec)
    start, end = _check(start), _check(end)
    if end <= start:
        return 0
    first, last = _local_date(spec, start), _local_date(spec, end)
    # A local day's intervals may only begin on that date; the day before start can still reach past
    # midnight only with "24:00", which ends exactly at midnight, so first..last covers every interval.
    if first == last:
        return _seconds_within(spec, first, start, end)
    return (
        _seconds_within(spec, first, start, end)
        + seconds_in_days(spec, first + timedelta(days=1), last - timedelta(days=1))
        + _seconds_within(spec, last, start, end)
    )


def business_minutes_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Whole business minutes in [start, end) (0 when end ≤ start). ``spec``: a CalendarSpec or a
    BusinessCalendar row."""
    return business_seconds_between(spec, start, end) // 60


def _consume_day(spec: CalendarSpec, day: date, start: datetime, need: int) -> tuple[datetime | None, int]:
    """Spend up to ``need`` open seconds of ``day`` after ``start``: (instant reached or None, left)."""
    for a, b in day_intervals(spec, day):
        if b <= start:
            continue
        a = max(a, start)
        have = int((b - a).total_seconds())
        if need <= have:
            return a + timedelta(seconds=need), 0
        need -= have
    return None, need


def next_open(spec: CalendarSpec, start: datetime) -> datetime:
    """The first open instant at or after ``start``."""
    spec = as_spec(spec)
    start = _check(start)
    day = _local_date(spec, start)
    for _ in range(MAX_DAYS):
        for a, b in day_intervals(spec, day):
            if b > start:
                return max(a, start)
        day += timedelta(days=1)
    raise ValueError("the calendar has no open time")


def add_business_minutes(spec: CalendarSpec, start: datetime, minutes: int) -> datetime:
    """The instant when ``minutes`` business minutes have passed since ``start``.

    0 minutes gives the first open instant at or after start (the clock starts there). A result that
    falls on the end of an interval stays there (12:00, not 13:00 after lunch). ``spec``: a
    CalendarSpec or a BusinessCalendar row."""
    spec = as_spec(spec)
    start = _check(start)
    if minutes <= 0:
        return next_open(spec, start)
    need = int(minutes) * 60
    day = _local_date(spec, start)
    reached, need = _consume_day(spec, day, start, need)
    if reached is not None:
        return reached
    day += timedelta(days=1)
    # Jump whole weeks while they surely do not finish the target. A guess from the normal week may be
    # too long when the span holds extra workdays (调休), so it is halved until it fits.
    if spec.week_minutes:
        weeks = (need // 60 - 1) // spec.week_minutes
        while weeks > 0:
            got = seconds_in_days(spec, day, day + timedelta(days=7 * weeks - 1))
            if got < need:
                need -= got
                day += timedelta(days=7 * weeks)
                weeks = (need // 60 - 1) // spec.week_minutes
            else:
                weeks //= 2
    for _ in range(MAX_DAYS):
        have = _seconds_on(spec, day)
        if have >= need:
            reached, _left = _consume_day(spec, day, datetime.min.replace(tzinfo=UTC), need)
            assert reached is not None
            return reached
        need -= have
        day += timedelta(days=1)
    raise ValueError("the target cannot be reached within 20 years on this calendar")


def warn_and_due(
    spec: CalendarSpec, start: datetime, minutes: int, warn_percent: int
) -> tuple[datetime, datetime]:
    """(warning instant, due instant) of a target of ``minutes`` business minutes from ``start``.

    The warning comes when ``warn_percent`` % of the target has elapsed (rounded down to the minute)."""
    spec = as_spec(spec)
    warn_minutes = int(minutes) * max(0, min(100, int(warn_percent))) // 100
    return add_business_minutes(spec, start, warn_minutes), add_business_minutes(spec, start, minutes)


def shift_by_paused(
    spec: CalendarSpec, due_at: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """A due time moved later by the business minutes a pause lasted (for resume)."""
    spec = as_spec(spec)
    return add_business_minutes(spec, due_at, business_minutes_between(spec, paused_at, resumed_at))


def status(
    now: datetime,
    *,
    due_at: datetime | None,
    warn_at: datetime | None = None,
    done_at: datetime | None = None,
    paused: bool = False,
) -> str:
    """The SLA badge of one target from stored columns only: "met", "breached", "paused", "warning",
    "ok" (or "" without a target). A target done late is "breached"; a paused one is "paused" (its due
    time moves on resume)."""
    if due_at is None:
        return ""
    if done_at is not None:
        return "met" if done_at <= due_at else "breached"
    if paused:  # the due time moves on resume, so a paused clock is not late yet
        return "paused"
    if now >= due_at:
        return "breached"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"
