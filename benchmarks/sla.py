"""SLA business-time benchmark: the interval arithmetic of ``kehu.sla.clock`` and a list page's badges.

Measures, without a database (the arithmetic is pure; a list page's badges read only the row):

1. ``add_business_minutes`` for targets of 60, 480 and 10,000 business minutes (µs per call) on three
   calendars: Mon–Fri 09–12/13–18 in Shanghai; the same with the 2025 and 2026 China public holidays
   and adjusted working days (72 exceptions); New York hours (DST changes in the spans);
2. ``business_minutes_between`` over a day, a month and a year (µs per call);
3. the SLA state of a 50-row ticket list page: ``Ticket.sla_state`` (stored columns only) for 50
   in-memory rows, and — what an exact "business minutes left" column would cost — 50
   ``business_minutes_between`` calls (ms per page).

Starts are random instants in 2025–2026 (seeded). Prints a table and writes
``benchmarks/results/sla-<date>.json``::

    .venv/bin/python benchmarks/sla.py [--calls 20000]
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import percentile  # noqa: E402 - the HTTP benchmark's percentile, one definition


def calendars():
    from kehu.sla.clock import CalendarSpec
    from kehu.sla.services import holiday_rows, holiday_years

    plain = CalendarSpec()
    exceptions = {}
    for year in holiday_years():
        for day, kind, _name in holiday_rows("CN", year):
            exceptions[day] = () if kind == "holiday" else plain.workday_hours
    return {
        "Shanghai Mon–Fri": plain,
        "Shanghai + CN holidays": CalendarSpec(time_zone="Asia/Shanghai", exceptions=exceptions),
        "New York Mon–Fri": CalendarSpec(time_zone="America/New_York"),
    }


def starts(rng: random.Random, n: int) -> list[datetime]:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(minutes=rng.randrange(0, 2 * 365 * 1440)) for _ in range(n)]


def timed(fn, args: list) -> dict:
    samples = []
    for a in args:
        t0 = time.perf_counter()
        fn(*a)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return {
        "mean_us": sum(samples) / len(samples),
        "p50_us": percentile(samples, 50),
        "p95_us": percentile(samples, 95),
        "calls": len(samples),
    }


def page_rows(rng: random.Random, now: datetime) -> list:
    """50 unsaved tickets in every SLA situation (running, warned, breached, paused, met)."""
    from kehu.tickets.models import Ticket

    rows = []
    for i in range(50):
        opened = now - timedelta(hours=rng.randrange(1, 200))
        ticket = Ticket(
            number=i + 1,
            subject=f"T{i}",
            status=rng.choice(["new", "open", "pending", "resolved"]),
            created_at=opened,
            sla_policy_id=1,
            first_response_due_at=opened + timedelta(hours=4),
            resolution_due_at=opened + timedelta(hours=40),
        )
        if rng.random() < 0.5:
            ticket.first_responded_at = opened + timedelta(hours=rng.randrange(1, 8))
        if ticket.status == "pending":
            ticket.sla_paused_at = now - timedelta(hours=1)
        if ticket.status == "resolved":
            ticket.resolved_at = now - timedelta(minutes=5)
        if rng.random() < 0.2:
            ticket.sla_warned_at = now - timedelta(minutes=30)
        rows.append(ticket)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per measurement")
    parser.add_argument("--pages", type=int, default=2000, help="50-row pages to time")
    args = parser.parse_args()

    import django

    django.setup()
    from kehu.sla import clock

    rng = random.Random(42)  # noqa: S311 - reproducible test data, not secrets
    results: dict = {"add_business_minutes": {}, "business_minutes_between": {}, "page": {}}
    specs = calendars()
    points = starts(rng, args.calls)
    for name, spec in specs.items():
        clock.add_business_minutes(spec, points[0], 10)  # warm the DST-date cache of the zone
        for minutes in (60, 480, 10_000):
            results["add_business_minutes"][f"{name} / {minutes}"] = timed(
                clock.add_business_minutes, [(spec, s, minutes) for s in points]
            )
        for label, span in (
            ("1 day", timedelta(days=1)),
            ("1 month", timedelta(days=30)),
            ("1 year", timedelta(days=365)),
        ):
            results["business_minutes_between"][f"{name} / {label}"] = timed(
                clock.business_minutes_between, [(spec, s, s + span) for s in points]
            )

    now = datetime(2026, 11, 26, 4, tzinfo=UTC)
    spec = specs["Shanghai + CN holidays"]
    pages = [page_rows(rng, now) for _ in range(min(args.pages, 200))]
    badges, exact = [], []
    for i in range(args.pages):
        rows = pages[i % len(pages)]
        t0 = time.perf_counter()
        for row in rows:
            row.sla_state(now)
        badges.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        for row in rows:
            clock.business_minutes_between(spec, now, row.resolution_due_at)
        exact.append((time.perf_counter() - t0) * 1e3)
    for key, samples in (("sla_state (columns only)", badges), ("+ business minutes left (exact)", exact)):
        samples.sort()
        results["page"][key] = {
            "mean_ms": sum(samples) / len(samples),
            "p50_ms": percentile(samples, 50),
            "p95_ms": percentile(samples, 95),
            "pages": len(samples),
        }

    print(f"{'add_business_minutes':48} {'mean µs':>9} {'p50 µs':>9} {'p95 µs':>9}")
    for key, r in results["add_business_minutes"].items():
        print(f"  {key:46} {r['mean_us']:9.1f} {r['p50_us']:9.1f} {r['p95_us']:9.1f}")
    print(f"{'business_minutes_between':48}")
    for key, r in results["business_minutes_between"].items():
        print(f"  {key:46} {r['mean_us']:9.1f} {r['p50_us']:9.1f} {r['p95_us']:9.1f}")
    print(f"{'50-row page':48} {'mean ms':>9} {'p50 ms':>9} {'p95 ms':>9}")
    for key, r in results["page"].items():
        print(f"  {key:46} {r['mean_ms']:9.3f} {r['p50_ms']:9.3f} {r['p95_ms']:9.3f}")
    load = os.getloadavg()
    results["load_average"] = load
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out = ROOT / "benchmarks" / "results" / f"sla-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
