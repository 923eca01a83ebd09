"""The dashboard benchmark (issue 7): a dashboard of 6 reports over 1M accounts and their orders.

The data is the analytics benchmark's (``benchmarks/analytics.py generate``: workspace ``analytics``,
N accounts over four years and their orders). ``run`` gives the accounts a grade and a lifecycle
stage where they have none (a fast UPDATE; ``--analytics`` runs the analytics full recompute
instead), saves six reports and a dashboard of them, and times the whole dashboard as a browser
loads it — the page, then its six tile requests — through the full Django stack (session, middleware,
templates; in-process ``django.test.Client``, no network server) for the workspace owner (every
record) and for a sales rep (own records). Tiles are timed one after another: their sum is what
one browser waiting for every tile over a single connection sees (a browser loads them in parallel,
so it is an upper bound).

    python benchmarks/reports.py run [--rounds 30] [--workspace analytics]

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/analytics.py generate --accounts 1000000 --orders 3000000 &&
.venv/bin/python benchmarks/reports.py run'``.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

TARGET_MS = 500.0

REPORTS = [
    ("Accounts by grade", "customers.account", "pie", {"group_by": [{"field": "grade"}], "date_field": ""}),
    (
        "Lifecycle funnel",
        "customers.account",
        "funnel",
        {"group_by": [{"field": "lifecycle_stage"}], "date_field": "", "sort": "group"},
    ),
    (
        "New accounts per month",
        "customers.account",
        "line",
        {"group_by": [{"field": "created_at", "bucket": "month"}], "date_field": "created_at"},
    ),
    (
        "Revenue per month",
        "commerce.order",
        "bar",
        {
            "group_by": [{"field": "order_date", "bucket": "month"}],
            "date_field": "order_date",
            "aggregates": [{"fn": "sum", "field": "base_total_amount"}, {"fn": "count"}],
        },
    ),
    (
        "Orders by status",
        "commerce.order",
        "pie",
        {
            "group_by": [{"field": "status"}],
            "date_field": "order_date",
            "aggregates": [{"fn": "count"}, {"fn": "avg", "field": "base_total_amount"}],
        },
    ),
    (
        "Accounts by owner and grade",
        "customers.account",
        "table",
        {"group_by": [{"field": "owner"}, {"field": "grade"}], "date_field": ""},
    ),
]


def _fill_scores(workspace, use_analytics: bool) -> None:
    from django.db import connection

    if use_analytics:
        from kehu.analytics import engine

        started = time.monotonic()
        engine.compute(workspace, "full")
        print(f"Analytics full recompute: {time.monotonic() - started:.1f} s")
        return
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_account SET grade = CASE id %% 10 WHEN 0 THEN 'strategic' "
            "WHEN 1 THEN 'important' WHEN 2 THEN 'important' ELSE 'ordinary' END, "
            "lifecycle_stage = CASE id %% 7 WHEN 0 THEN 'prospect' WHEN 1 THEN 'new' "
            "WHEN 2 THEN 'at_risk' WHEN 3 THEN 'churned' ELSE 'active' END "
            "WHERE workspace_id = %s AND grade = ''",
            [workspace.pk],
        )
        changed = cursor.rowcount
        if changed and connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE customers_account")
    print(f"Grades and stages set on {changed:,} accounts in {time.monotonic() - started:.1f} s")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django_scopes import scope, scopes_disabled

    from kehu.reports import services
    from kehu.reports.models import Sharing
    from kehu.workspaces.models import Membership, Workspace
    from kehu.workspaces.services import actor_for

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # --no-rollups: every tile reads the records (the session-6 engine), for a before/after.
    settings.REPORTS_ROLLUPS = not args.no_rollups
    # Pages render {% static %} without a collectstatic manifest (as the tests do).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with scopes_disabled():
        workspace = Workspace.objects.get(slug=args.workspace)
        members = list(Membership.objects.filter(workspace=workspace).select_related("user", "role"))
    owner = next(m.user for m in members if m.role.key == "owner")
    rep = next(m.user for m in members if m.role.key == "sales")
    load = os.getloadavg()
    print(
        f"Database: {connection.vendor}; rollups {'off' if args.no_rollups else 'on'}; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    with scope(workspace=workspace):
        from kehu.commerce.models import Order
        from kehu.customers.models import Account

        print(f"{Account.objects.count():,} accounts, {Order.objects.count():,} orders")
        _fill_scores(workspace, args.analytics)
        actor = actor_for(owner, workspace)
        dashboard = services.create_dashboard(actor, name="Benchmark", sharing=Sharing.WORKSPACE)
        for name, object_type, chart, definition in REPORTS:
            report = services.create_report(
                actor,
                name=name,
                object_type=object_type,
                chart=chart,
                definition=definition,
                sharing=Sharing.WORKSPACE,
            )
            services.add_tile(actor, dashboard, report_id=report.pk)
        tiles = [t.pk for t in services.tiles_of(dashboard)]

    results = {}
    viewers = (("owner (all records)", owner), ("sales rep (own records)", rep))
    # "computed": every tile runs its query (``fresh=1``, what the first visit of a range costs);
    # "cached": the tiles' exact result cache — rows reused while no table they read changed (what
    # opening the dashboard again costs when nothing was written in between).
    for mode, extra in (("computed", "&fresh=1"), ("cached", "")):
        query = f"start={args.start}&end={args.end}"
        for label, user in viewers:
            client = Client()
            client.force_login(user)
            page_url = f"/reports/dashboards/{dashboard.pk}/?{query}"
            tile_urls = [f"/reports/dashboards/{dashboard.pk}/tiles/{t}/?{query}{extra}" for t in tiles]
            for url in [page_url, *tile_urls]:  # warm-up: connections, templates, plans (and the cache)
                assert client.get(url).status_code == 200, url
            totals, per_tile = [], {n: [] for n in range(len(tiles))}
            for _ in range(args.rounds):
                started = time.perf_counter()
                assert client.get(page_url).status_code == 200
                for n, url in enumerate(tile_urls):
                    t0 = time.perf_counter()
                    assert client.get(url).status_code == 200
                    per_tile[n].append((time.perf_counter() - t0) * 1000)
                totals.append((time.perf_counter() - started) * 1000)
            results[(mode, label)] = (totals, per_tile)

    print(f"\nDashboard of 6 reports, {args.rounds} rounds, range {args.start} … {args.end}")
    print(
        f"{'tiles':9s} {'viewer':26s} {'p50 ms':>8s} {'p95 ms':>8s}  "
        f"target {TARGET_MS:.0f} ms (page + 6 tiles)"
    )
    for (mode, label), (totals, per_tile) in results.items():
        p95 = _pct(totals, 0.95)
        verdict = "ok" if p95 <= TARGET_MS else "MISSED"
        print(f"{mode:9s} {label:26s} {statistics.median(totals):8.0f} {p95:8.0f}  {verdict}")
        for n, (name, *_rest) in enumerate(REPORTS):
            print(
                f"      {name:32s} p50 {statistics.median(per_tile[n]):6.0f}  "
                f"p95 {_pct(per_tile[n], 0.95):6.0f}"
            )
    load = os.getloadavg()
    print(f"Load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--workspace", default="analytics")
    r.add_argument("--rounds", type=int, default=30)
    r.add_argument("--start", default="2025-07-01")
    r.add_argument("--end", default="2026-06-30")
    r.add_argument("--analytics", action="store_true", help="Run the analytics full recompute for the scores")
    r.add_argument("--no-rollups", action="store_true", help="Read the records, not the rollups (before)")
    args = parser.parse_args()
    {"run": run}[args.command](args)


if __name__ == "__main__":
    main()
