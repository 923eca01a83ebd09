"""Business-time arithmetic with hand-computed expectations (no database).

The default calendar is Mon–Fri 09:00–12:00 and 13:00–18:00: 180 + 300 = 480 minutes a day, 2,400 a
week. Each case writes its computation in the comment next to it. Dates: 2026-11-23 is a Monday.
"""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kehu.sla import clock
from kehu.sla.clock import CalendarSpec, add_business_minutes, business_minutes_between
from kehu.sla.services import holiday_rows

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def cn_calendar(*years, tz="Asia/Shanghai") -> CalendarSpec:
    """The default hours plus the State Council schedule of the years (from the shipped data files)."""
    exceptions = {}
    base = CalendarSpec(time_zone=tz)
    for year in years:
        for day, kind, _name in holiday_rows("CN", year):
            exceptions[day] = () if kind == "holiday" else base.workday_hours
    return CalendarSpec(time_zone=tz, exceptions=exceptions)


PLAIN = CalendarSpec()
CN = cn_calendar(2025, 2026)
NY_HOURS = CalendarSpec(time_zone="America/New_York")
ALWAYS_NY = CalendarSpec.build("America/New_York", [[["00:00", "24:00"]]] * 7)
ALWAYS_BERLIN = CalendarSpec.build("Europe/Berlin", [[["00:00", "24:00"]]] * 7)


# --- business_minutes_between ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "start", "end", "expected"),
    [
        # Lunch break: Mon 10:00–12:00 = 120, 13:00–14:00 = 60 → 180.
        (PLAIN, sh(2026, 11, 23, 10), sh(2026, 11, 23, 14), 180),
        # Night: Mon 17:00–18:00 = 60, Tue 09:00–10:00 = 60 → 120.
        (PLAIN, sh(2026, 11, 23, 17), sh(2026, 11, 24, 10), 120),
        # Weekend: Fri 16:30–18:00 = 90, Sat+Sun closed, Mon 09:00–09:30 = 30 → 120.
        (PLAIN, sh(2026, 11, 27, 16, 30), sh(2026, 11, 30, 9, 30), 120),
        # Start outside hours (Saturday): counting starts Mon 09:00 → 11:00 = 120.
        (PLAIN, sh(2026, 11, 28, 10), sh(2026, 11, 30, 11), 120),
        # Start in the lunch break: 12:30 → 13:30 counts only 13:00–13:30 = 30.
        (PLAIN, sh(2026, 11, 23, 12, 30), sh(2026, 11, 23, 13, 30), 30),
        # Both ends in the same closed stretch (Sat → Sun) = 0.
        (PLAIN, sh(2026, 11, 28, 10), sh(2026, 11, 29, 23), 0),
        # End before start = 0.
        (PLAIN, sh(2026, 11, 24, 10), sh(2026, 11, 23, 10), 0),
        # Seconds are floored to whole minutes: 09:00:00 → 09:01:59 = 1 minute 59 s → 1.
        (PLAIN, sh(2026, 11, 23, 9), sh(2026, 11, 23, 9, 1, 59), 1),
        # A whole week Mon 09:00 → next Mon 09:00 = 5 × 480 = 2,400.
        (PLAIN, sh(2026, 11, 23, 9), sh(2026, 11, 30, 9), 2400),
        # Holiday (2026 National Day, Oct 1–7 closed): Wed Sep 30 17:00–18:00 = 60, Thu Oct 8 09:00–10:00
        # = 60 → 120.
        (CN, sh(2026, 9, 30, 17), sh(2026, 10, 8, 10), 120),
        # Adjusted Saturday (2026-10-10 上班): Fri Oct 9 17–18 = 60, Sat Oct 10 full day 480, Sun closed,
        # Mon Oct 12 09–10 = 60 → 600.
        (CN, sh(2026, 10, 9, 17), sh(2026, 10, 12, 10), 600),
        # Spring Festival 2026: Fri Feb 13 17–18 = 60, Sat Feb 14 (调休 workday) 480, Feb 15–23 closed,
        # Tue Feb 24 09–10 = 60 → 600.
        (CN, sh(2026, 2, 13, 17), sh(2026, 2, 24, 10), 600),
        # 2025 National Day + Mid-Autumn (Oct 1–8 closed, Sun Sep 28 and Sat Oct 11 work): Fri Sep 26
        # 17–18 = 60, Sun Sep 28 = 480, Mon Sep 29 + Tue Sep 30 = 960, Thu Oct 9 + Fri Oct 10 = 960,
        # Sat Oct 11 = 480 → 2,940 by Mon Oct 13 09:00.
        (CN, sh(2025, 9, 26, 17), sh(2025, 10, 13, 9), 2940),
        # New York across the spring-forward (Sun 2026-03-08): Fri Mar 6 17:00–18:00 EST = 60, Mon Mar 9
        # 09:00–10:00 EDT = 60 → 120 (though only 64 h pass, not 65).
        (NY_HOURS, ny(2026, 3, 6, 17), ny(2026, 3, 9, 10), 120),
        # Round the clock in New York: Sat Mar 7 = 1,440, Sun Mar 8 has 23 hours = 1,380 → 2,820.
        (ALWAYS_NY, ny(2026, 3, 7), ny(2026, 3, 9), 2820),
        # Fall back (Sun 2026-11-01 has 25 hours): Sat Oct 31 1,440 + Sun Nov 1 1,500 → 2,940.
        (ALWAYS_NY, ny(2026, 10, 31), ny(2026, 11, 2), 2940),
        # Berlin's spring-forward is Sun 2026-03-29: Sat 1,440 + Sun 1,380 → 2,820.
        (ALWAYS_BERLIN, datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN), 2820),
        # The same UTC instants on two calendars: 2026-11-23 01:00–15:00 UTC is Shanghai Mon 09:00–23:00
        # (480) but New York Sun 20:00 – Mon 10:00 EST (only Mon 09:00–10:00 = 60).
        (PLAIN, datetime(2026, 11, 23, 1, tzinfo=UTC), datetime(2026, 11, 23, 15, tzinfo=UTC), 480),
        (NY_HOURS, datetime(2026, 11, 23, 1, tzinfo=UTC), datetime(2026, 11, 23, 15, tzinfo=UTC), 60),
        # A year without exceptions: Mon 2026-01-05 09:00 → Mon 2027-01-04 09:00 = 52 weeks × 2,400 = 124,800.
        (PLAIN, sh(2026, 1, 5, 9), sh(2027, 1, 4, 9), 124_800),
        # The same year with the 2026 schedule: weekday holidays after Jan 5 — Spring Festival Feb 16–20
        # and 23 (6), Qingming Apr 6 (1), Labour Day May 1, 4, 5 (3), Dragon Boat Jun 19 (1), Mid-Autumn
        # Sep 25 (1), National Day Oct 1, 2, 5, 6, 7 (5) = 17 closed; weekend workdays Feb 14, Feb 28,
        # May 9, Sep 20, Oct 10 = 5 open → 124,800 − 17 × 480 + 5 × 480 = 119,040.
        (CN, sh(2026, 1, 5, 9), sh(2027, 1, 4, 9), 119_040),
    ],
)
def test_business_minutes_between(spec, start, end, expected):
    assert business_minutes_between(spec, start, end) == expected


# --- add_business_minutes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "start", "minutes", "expected"),
    [
        # Zero minutes inside hours: the start itself.
        (PLAIN, sh(2026, 11, 23, 10), 0, sh(2026, 11, 23, 10)),
        # Zero minutes on a Saturday: the clock starts at the next opening, Mon 09:00.
        (PLAIN, sh(2026, 11, 28, 10), 0, sh(2026, 11, 30, 9)),
        # Ends exactly at the lunch break: 11:00 + 60 = 12:00 (stays at the interval end).
        (PLAIN, sh(2026, 11, 23, 11), 60, sh(2026, 11, 23, 12)),
        # One more minute crosses lunch: 60 until 12:00, 1 from 13:00 → 13:01.
        (PLAIN, sh(2026, 11, 23, 11), 61, sh(2026, 11, 23, 13, 1)),
        # Before opening: Mon 07:00 + 30 → 09:30.
        (PLAIN, sh(2026, 11, 23, 7), 30, sh(2026, 11, 23, 9, 30)),
        # Night and weekend: Fri 17:00 + 120 = 60 on Friday, 60 from Mon 09:00 → Mon 10:00.
        (PLAIN, sh(2026, 11, 27, 17), 120, sh(2026, 11, 30, 10)),
        # A full day from the opening: Mon 09:00 + 480 → Mon 18:00.
        (PLAIN, sh(2026, 11, 23, 9), 480, sh(2026, 11, 23, 18)),
        # Holiday: Wed 2026-09-30 17:30 + 60 = 30 that day, Oct 1–7 closed, 30 from Thu Oct 8 → 09:30.
        (CN, sh(2026, 9, 30, 17, 30), 60, sh(2026, 10, 8, 9, 30)),
        # Adjusted Saturday: Fri 2026-10-09 17:00 + 120 = 60 on Friday, Sat Oct 10 is a working day
        # → Sat 10:00.
        (CN, sh(2026, 10, 9, 17), 120, sh(2026, 10, 10, 10)),
        # Spring Festival: Fri 2026-02-13 17:00 + 600 = 60 Fri, 480 Sat Feb 14 (work), Feb 15–23 closed,
        # 60 on Tue Feb 24 → 10:00.
        (CN, sh(2026, 2, 13, 17), 600, sh(2026, 2, 24, 10)),
        # 10,000 minutes, no exceptions: 4 weeks (9,600) → Mon 2026-12-21 09:00, then 400: 180 until
        # 12:00 and 220 from 13:00 → 16:40.
        (PLAIN, sh(2026, 11, 23, 9), 10_000, sh(2026, 12, 21, 16, 40)),
        # 10,000 minutes through the 2026 Mid-Autumn + National Day: Sep 14–18 2,400; Sun Sep 20 (work)
        # 480 → 2,880; Sep 21–24 1,920 → 4,800 (Fri Sep 25 closed); Sep 28–30 1,440 → 6,240; Oct 1–7
        # closed; Oct 8–9 960 → 7,200; Sat Oct 10 (work) 480 → 7,680; Oct 12–15 1,920 → 9,600; Fri Oct 16:
        # 180 until 12:00 + 220 from 13:00 → 16:40.
        (CN, sh(2026, 9, 14, 9), 10_000, sh(2026, 10, 16, 16, 40)),
        # New York across the spring-forward: Fri 2026-03-06 17:30 EST + 60 = 30 Fri, 30 Mon → 09:30 EDT
        # (13:30 UTC).
        (NY_HOURS, ny(2026, 3, 6, 17, 30), 60, datetime(2026, 3, 9, 13, 30, tzinfo=UTC)),
        # Round the clock in New York: Sat Mar 7 00:00 + 2,820 (1,440 + the 23-hour Sunday) → Mon 00:00 EDT.
        (ALWAYS_NY, ny(2026, 3, 7), 2820, datetime(2026, 3, 9, 4, tzinfo=UTC)),
        # Fall back: Sun 2026-11-01 00:00 EDT + 1,500 (the 25-hour day) → Mon Nov 2 00:00 EST (05:00 UTC).
        (ALWAYS_NY, ny(2026, 11, 1), 1500, datetime(2026, 11, 2, 5, tzinfo=UTC)),
        # Shanghai vs New York from the same instant, 2026-11-23 01:00 UTC + 60: Shanghai Mon 09:00 → 10:00
        # (02:00 UTC); New York Sun 20:00 EST → Mon 09:00 + 60 → 10:00 EST (15:00 UTC).
        (PLAIN, datetime(2026, 11, 23, 1, tzinfo=UTC), 60, datetime(2026, 11, 23, 2, tzinfo=UTC)),
        (NY_HOURS, datetime(2026, 11, 23, 1, tzinfo=UTC), 60, datetime(2026, 11, 23, 15, tzinfo=UTC)),
        # Over a year: Mon 2026-01-05 09:00 + 124,800 = 52 full weeks; the last minute ends on Friday
        # 2027-01-01 at 18:00 (an interval end stays, not Mon 09:00).
        (PLAIN, sh(2026, 1, 5, 9), 124_800, sh(2027, 1, 1, 18)),
        # With the 2026 schedule the same 119,040 minutes end on the same Friday (see the between case).
        (CN, sh(2026, 1, 5, 9), 119_040, sh(2027, 1, 1, 18)),
    ],
)
def test_add_business_minutes(spec, start, minutes, expected):
    assert add_business_minutes(spec, start, minutes) == expected


def test_results_are_utc():
    assert add_business_minutes(PLAIN, sh(2026, 11, 23, 10), 5).tzinfo == UTC


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        business_minutes_between(PLAIN, datetime(2026, 1, 1), sh(2026, 1, 2))


def test_workday_exception_with_its_own_hours():
    # Sat 2026-11-28 opens 10:00–14:00 only: Fri 17:30 + 60 = 30 on Friday + 30 from Sat 10:00 → 10:30.
    spec = CalendarSpec.build(
        "Asia/Shanghai", [d for d in clock.DEFAULT_WEEKLY], {date(2026, 11, 28): [["10:00", "14:00"]]}
    )
    assert add_business_minutes(spec, sh(2026, 11, 27, 17, 30), 60) == sh(2026, 11, 28, 10, 30)
    # Fri 17:00 → Mon 10:00 = 60 + 240 (Sat) + 60 = 360.
    assert business_minutes_between(spec, sh(2026, 11, 27, 17), sh(2026, 11, 30, 10)) == 360


def test_a_calendar_without_hours_cannot_reach_a_target():
    closed = CalendarSpec.build("UTC", [[]] * 7)
    with pytest.raises(ValueError):
        add_business_minutes(closed, sh(2026, 1, 1), 10)
    assert business_minutes_between(closed, sh(2026, 1, 1), sh(2027, 1, 1)) == 0


def test_warn_and_due():
    # Target 600, warn at 80 % = 480: Mon 09:00 + 480 → Mon 18:00; + 600 → Tue 11:00.
    warn, due = clock.warn_and_due(PLAIN, sh(2026, 11, 23, 9), 600, 80)
    assert (warn, due) == (sh(2026, 11, 23, 18), sh(2026, 11, 24, 11))


def test_shift_by_paused():
    # Paused Mon 17:00 → Tue 10:00 = Mon 17–18 (60) + Tue 09–10 (60) = 120 business minutes; a Tue 11:00 due
    # moves by 120: 11–12 (60), lunch, 13–14 (60) → Tue 14:00.
    moved = clock.shift_by_paused(PLAIN, sh(2026, 11, 24, 11), sh(2026, 11, 23, 17), sh(2026, 11, 24, 10))
    assert moved == sh(2026, 11, 24, 14)


def test_status_badges():
    now = sh(2026, 11, 23, 12)
    due, warn = sh(2026, 11, 23, 13), sh(2026, 11, 23, 11)
    assert clock.status(now, due_at=None) == ""
    assert clock.status(now, due_at=due) == "ok"
    assert clock.status(now, due_at=due, warn_at=warn) == "warning"
    assert clock.status(sh(2026, 11, 23, 14), due_at=due) == "breached"
    assert clock.status(sh(2026, 11, 23, 14), due_at=due, paused=True) == "paused"
    assert clock.status(now, due_at=due, done_at=sh(2026, 11, 23, 12, 30)) == "met"
    assert clock.status(now, due_at=due, done_at=sh(2026, 11, 23, 13, 30)) == "breached"


def test_offset_change_dates():
    assert clock.offset_change_dates("America/New_York", 2026) == (date(2026, 3, 8), date(2026, 11, 1))
    assert clock.offset_change_dates("Europe/Berlin", 2026) == (date(2026, 3, 29), date(2026, 10, 25))
    assert clock.offset_change_dates("Asia/Shanghai", 2026) == ()


# --- property tests against a minute-stepping oracle (tests only) ---------------------------------------


def _oracle_minutes(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Counts open minutes by looking at every minute: slow, obviously right, for short spans only."""
    zone = ZoneInfo(spec.time_zone)
    count, t = 0, start.astimezone(UTC)
    end = end.astimezone(UTC)
    while t < end:
        local = t.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if any(s <= minute < e for s, e in spec.hours_on(local.date())):
            count += 1
        t += timedelta(minutes=1)
    return count


def _random_spec(rng: random.Random) -> CalendarSpec:
    """Random hours (two intervals a day, some days closed) and exceptions. Interval ends avoid 01:00–04:00,
    where DST changes happen: an opening inside a repeated or skipped hour has no single wall-clock meaning
    (the clock takes zoneinfo's first reading; see clock._to_utc), so the oracle would disagree by design."""
    zone = rng.choice(["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney"])
    ends = [m for m in range(0, 1441) if not 60 <= m <= 240]
    weekly = []
    for _ in range(7):
        if rng.random() < 0.25:
            weekly.append([])
            continue
        weekly.append([tuple(sorted(rng.sample(ends, 2))), tuple(sorted(rng.sample(ends, 2)))])
    exceptions = {}
    for _ in range(rng.randrange(0, 4)):
        day = date(2026, 3, 1) + timedelta(days=rng.randrange(0, 300))
        exceptions[day] = [] if rng.random() < 0.6 else [(480, 1020)]
    return CalendarSpec.build(zone, weekly, exceptions)


@pytest.mark.parametrize("seed", range(60))
def test_between_matches_the_minute_oracle(seed):
    rng = random.Random(seed)
    spec = _random_spec(rng)
    # Spans of up to 3 days around the DST changes of March, October and November 2026.
    base = rng.choice(
        [
            datetime(2026, 3, 7, tzinfo=UTC),
            datetime(2026, 10, 24, tzinfo=UTC),
            datetime(2026, 10, 31, tzinfo=UTC),
            datetime(2026, 4, 4, tzinfo=UTC),
        ]
    )
    start = base + timedelta(minutes=rng.randrange(0, 3 * 1440))
    end = start + timedelta(minutes=rng.randrange(0, 3 * 1440))
    assert business_minutes_between(spec, start, end) == _oracle_minutes(spec, start, end)


@pytest.mark.parametrize("seed", range(200))
def test_add_inverts_between(seed):
    """add(start, between(start, end)) == end whenever end lies strictly inside an open interval."""
    rng = random.Random(1000 + seed)
    spec = rng.choice([PLAIN, CN, NY_HOURS, ALWAYS_NY, _random_spec(rng)])
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 2 * 365 * 1440))
    day = (start + timedelta(days=rng.randrange(0, 400))).astimezone(spec.zone).date()
    intervals = []
    while not intervals:
        day += timedelta(days=1)
        intervals = [(a, b) for a, b in clock.day_intervals(spec, day) if b - a > timedelta(minutes=2)]
    a, b = rng.choice(intervals)
    end = a + timedelta(minutes=rng.randrange(1, int((b - a).total_seconds() // 60)))
    if end <= start:
        start, end = end - timedelta(days=rng.randrange(1, 30)), end
    minutes = business_minutes_between(spec, start, end)
    assert add_business_minutes(spec, start, minutes) == end
    assert business_minutes_between(spec, start, add_business_minutes(spec, start, minutes)) == minutes
