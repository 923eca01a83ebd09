# ruff: noqa: S311 — a seeded generator must be reproducible, not cryptographic.
"""The sales benchmark (issue 4): kanban board, forecast and funnel through the real HTTP stack.

``generate`` fills a new workspace ``sales`` (deterministic for a given ``--seed``) with N leads and
M opportunities of the default pipeline, with their full stage history (``StageChange`` rows with
the time spent in each stage), accounts for the deals, 4 teams of 5 reps and monthly quotas —
written straight to the tables with the bench conventions of ``kehu bench generate`` (COPY on
PostgreSQL, executemany on SQLite, secondary indexes dropped during the load and re-created).
``run`` starts granian as ``benchmarks/run.py`` does and prints p50/p95 per scenario.

    python benchmarks/sales.py generate [--leads 1000000] [--opportunities 500000] [--scale 1.0]
    python benchmarks/sales.py run [--requests 100] [--period 2026-Q3]

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/sales.py generate && .venv/bin/python benchmarks/sales.py run'``.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

import run as runner  # noqa: E402 - benchmarks/run.py: the same HTTP client, server and statistics

BOARD_TARGET = 150.0
REPORT_TARGET = 500.0
TEAMS = 4
# Fixed instead of "now", so two runs with one seed write the same rows; the benchmark's "today".
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
DAY = 86400


# --- generate --------------------------------------------------------------------------------------


def generate(args) -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django_scopes import scope

    from kehu.customers.models import Account
    from kehu.deals.models import Opportunity, StageChange
    from kehu.deals.services import default_pipeline, derived_forecast_category
    from kehu.forecast.models import SalesTarget
    from kehu.forecast.periods import month
    from kehu.leads.models import Lead
    from kehu.operations.management.commands.bench import (
        Command,
        TableWriter,
        indexes_dropped,
        next_id,
        reset_sequences,
    )
    from kehu.workspaces.models import Team

    n_leads = max(1, int(args.leads * args.scale))
    n_opps = max(1, int(args.opportunities * args.scale))
    n_accounts = max(1, n_opps // 5)
    rng = random.Random(args.seed)
    bench = Command()
    overall = time.monotonic()
    print(
        f"Generating into {connection.vendor}: {n_leads:,} leads, {n_opps:,} opportunities, "
        f"{n_accounts:,} accounts (seed {args.seed}).",
        flush=True,
    )
    with transaction.atomic():
        workspace, actor, sales = bench.workspace(args.workspace)
        with scope(workspace=workspace):
            pipeline = default_pipeline(workspace)
            stages = list(pipeline.stages.order_by("position"))
            teams = []
            for t in range(TEAMS):
                team = Team.objects.create(workspace=workspace, name=f"销售{t + 1}组")
                team.members.set(sales[t * len(sales) // TEAMS : (t + 1) * len(sales) // TEAMS])
                teams.append(team)
    team_of = {u.pk: teams[i * TEAMS // len(sales)].pk for i, u in enumerate(sales)}
    owner_ids = [u.pk for u in sales]
    open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
    won_stage = next(s for s in stages if s.is_won)
    lost_stage = next(s for s in stages if s.is_lost)
    ws = workspace.pk
    stamp = {"workspace_id": ws, "created_by_id": actor.user.pk, "updated_by_id": actor.user.pk}
    span = (END - START).total_seconds()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute("PRAGMA foreign_keys = OFF")
    amounts = [5000, 12000, 20000, 35000, 50000, 80000, 120000, 200000, 500000]
    reasons = ["价格", "选择了竞争对手", "没有预算", "没有决定", "时机不对", "产品不匹配"]
    models = [Account, Opportunity, StageChange, Lead]
    a0, o0 = next_id(Account), next_id(Opportunity)
    with indexes_dropped(models, print), transaction.atomic():
        started = time.monotonic()
        accounts = TableWriter(Account, ids=True)
        for i in range(n_accounts):
            at = START + timedelta(seconds=span * i / n_accounts)
            owner = rng.choice(owner_ids)
            accounts.add(
                {
                    **stamp,
                    "id": a0 + i,
                    "created_at": at,
                    "updated_at": at,
                    "owner_id": owner,
                    "team_id": team_of[owner],
                    "name": f"客户{i:07d}有限公司",
                    "kind": "company",
                    "country": "CN",
                    "custom": {},
                }
            )
        accounts.flush()
        opps = TableWriter(Opportunity, ids=True)
        changes = TableWriter(StageChange, batch=50_000)
        counts = {"open": 0, "won": 0, "lost": 0}
        for i in range(n_opps):
            created = START + timedelta(seconds=span * i / n_opps + rng.random() * 3600)
            owner = rng.choice(owner_ids)
            amount = Decimal(rng.choice(amounts))
            # How far the deal gets: each open stage is passed with a falling chance; then won or lost.
            reach = 0
            while reach < len(open_stages) - 1 and rng.random() < 0.62:
                reach += 1
            outcome = rng.choices(["won", "lost", "open"], (0.45 + 0.1 * reach, 0.45, 0.25))[0]
            at = created
            path = [(None, open_stages[0], at, None)]
            # Sometimes a stage is skipped (the stage-conversion report counts skips as passed).
            for stage in open_stages[1 : reach + 1]:
                if rng.random() < 0.1:
                    continue
                stay = int(rng.expovariate(1 / (9 * DAY))) + 3600
                at = at + timedelta(seconds=stay)
                path.append((path[-1][1], stage, at, stay))
            if outcome != "open":
                stay = int(rng.expovariate(1 / (12 * DAY))) + 3600
                at = at + timedelta(seconds=stay)
                path.append((path[-1][1], won_stage if outcome == "won" else lost_stage, at, stay))
            # What has happened by the benchmark's "today" is history; the rest has not happened yet.
            path = [step for step in path if step[2] <= END] or path[:1]
            stage, entered = path[-1][1], path[-1][2]
            furthest = max((step[1].position for step in path if not step[1].is_lost), default=None)
            status = "won" if stage.is_won else "lost" if stage.is_lost else "open"
            counts[status] += 1
            planned = (created + timedelta(days=30 + rng.randrange(120))).date()
            close = entered.date() if status != "open" else planned
            opps.add(
                {
                    **stamp,
                    "id": o0 + i,
                    "created_at": created,
                    "updated_at": entered,
                    "owner_id": owner,
                    "team_id": team_of[owner],
                    "name": f"商机{i:07d}",
                    "account_id": a0 + rng.randrange(n_accounts),
                    "pipeline_id": pipeline.pk,
                    "stage_id": stage.pk,
                    "stage_entered_at": entered,
                    "furthest_position": furthest,
                    "amount": amount,
                    "currency": "CNY",
                    "exchange_rate": Decimal(1),
                    "base_amount": amount,
                    "expected_close_date": close,
                    "probability": stage.probability,
                    "forecast_category": derived_forecast_category(stage.probability, status),
                    "status": status,
                    "closed_at": entered if status != "open" else None,
                    "lost_reason": rng.choice(reasons) if status == "lost" else "",
                    "competitors": [],
                    "custom": {},
                }
            )
            for from_stage, to_stage, changed, stay in path:
                changes.add(
                    {
                        **stamp,
                        "created_at": changed,
                        "updated_at": changed,
                        "opportunity_id": o0 + i,
                        "pipeline_id": pipeline.pk,
                        "from_stage_id": from_stage.pk if from_stage else None,
                        "to_stage_id": to_stage.pk,
                        "changed_at": changed,
                        "changed_by_id": owner,
                        "seconds_in_previous": stay,
                        "base_amount": amount,
                    }
                )
        opps.flush()
        changes.flush()
        elapsed = time.monotonic() - started
        print(
            f"  opportunities: {opps.count:,} ({counts}) + {changes.count:,} stage changes + "
            f"{accounts.count:,} accounts in {elapsed:.1f} s",
            flush=True,
        )

        started = time.monotonic()
        leads = TableWriter(Lead)
        statuses = (("new", 30), ("contacted", 25), ("qualified", 30), ("disqualified", 15))
        converted_to = 0
        for i in range(n_leads):
            created = START + timedelta(seconds=span * i / n_leads + rng.random() * 3600)
            owner = rng.choice(owner_ids)
            status = rng.choices([s for s, _w in statuses], [w for _s, w in statuses])[0]
            row = {
                **stamp,
                "created_at": created,
                "updated_at": created,
                "owner_id": owner,
                "team_id": team_of[owner],
                "name": f"线索{i:07d}",
                "company": f"公司{i % 50000:05d}",
                "email": f"lead{i}@example.cn",
                "source": rng.choice(["web_form", "import", "event", "referral"]),
                "status": status,
                "custom": {},
            }
            if status == "disqualified":
                row["disqualified_reason"] = "没有预算"
            if status == "qualified" and rng.random() < 0.6:
                row["converted_at"] = created + timedelta(days=rng.randrange(1, 20))
                row["converted_account_id"] = a0 + rng.randrange(n_accounts)
                if rng.random() < 0.8:
                    # Deals were created in lead order too: point at one created near the lead.
                    row["converted_opportunity_id"] = o0 + min(n_opps - 1, int(i * n_opps / n_leads))
                    converted_to += 1
            leads.add(row)
        leads.flush()
        print(
            f"  leads: {leads.count:,} ({converted_to:,} converted to an opportunity) in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
    reset_sequences(models)
    with transaction.atomic():
        # Monthly quotas for every rep over the whole history (and the months to come).
        targets = []
        for year in range(START.year, END.year + 1):
            for number in range(1, 13):
                p = month(year, number)
                for owner in owner_ids:
                    targets.append(
                        SalesTarget(
                            **stamp,
                            owner_id=owner,
                            period="month",
                            start_date=p.start,
                            end_date=p.end,
                            amount=Decimal(rng.choice([300000, 500000, 800000])),
                        )
                    )
        SalesTarget.objects.bulk_create(targets, batch_size=2000)
    bench.analyze()
    print(f"Done in {time.monotonic() - overall:.0f} s.", flush=True)


# --- run -------------------------------------------------------------------------------------------


def prepare(slug: str) -> dict:
    from django.db.models import Count
    from django_scopes import scope

    from kehu.deals.models import Opportunity, Pipeline
    from kehu.leads.models import Lead
    from kehu.workspaces.models import Team

    workspace, members = runner.members(slug)
    admin, rep = members[f"admin@{slug}.test"], members[f"sales01@{slug}.test"]
    with scope(workspace=workspace):
        info = {
            "workspace": slug,
            "admin_key": runner.api_key(admin, "sales benchmark"),
            "sales_key": runner.api_key(rep, "sales benchmark"),
            "leads": Lead.objects.count(),
            "opportunities": Opportunity.objects.count(),
            "open": Opportunity.objects.filter(status="open").count(),
            "pipeline_id": Pipeline.objects.get(is_default=True).pk,
            "owner_id": rep.user_id,
            "team_id": Team.objects.order_by("pk").first().pk,
        }
        info["by_stage"] = dict(
            Opportunity.objects.values_list("stage__name")
            .annotate(n=Count("id"))
            .values_list("stage__name", "n")
        )
    return info


def scenarios(info: dict, period: str, current: str) -> list[dict]:
    p = info["pipeline_id"]
    board = f"/api/v1/pipelines/{p}/board"
    s = [
        ("board of the pipeline", "admin", board, BOARD_TARGET),
        ("board filtered by owner", "admin", f"{board}?owner_id={info['owner_id']}", BOARD_TARGET),
        (
            "board filtered by team + close dates",
            "admin",
            f"{board}?team_id={info['team_id']}&close_from=2026-10-01&close_to=2026-12-31",
            BOARD_TARGET,
        ),
        ("sales 'own': board", "sales", board, BOARD_TARGET),
        (f"forecast {period}", "admin", f"/api/v1/forecast?period={period}", REPORT_TARGET),
        (
            f"forecast {current} (current quarter)",
            "admin",
            f"/api/v1/forecast?period={current}",
            REPORT_TARGET,
        ),
        (
            f"forecast {period} by team",
            "admin",
            f"/api/v1/forecast?period={period}&team={info['team_id']}",
            REPORT_TARGET,
        ),
        (f"sales 'own': forecast {period}", "sales", f"/api/v1/forecast?period={period}", REPORT_TARGET),
        (f"funnel {period}", "admin", f"/api/v1/reports/funnel?period={period}", REPORT_TARGET),
        (f"sales 'own': funnel {period}", "sales", f"/api/v1/reports/funnel?period={period}", REPORT_TARGET),
        (f"win rate + cycle {period}", "admin", f"/api/v1/reports/win-rate?period={period}", REPORT_TARGET),
        (
            f"stage conversion {period}",
            "admin",
            f"/api/v1/reports/stage-conversion?period={period}",
            REPORT_TARGET,
        ),
        (f"lost reasons {period}", "admin", f"/api/v1/reports/lost-reasons?period={period}", REPORT_TARGET),
        # The page paints KPIs and the forecast; each chart panel is its own request (htmx, on load).
        (f"sales dashboard page {period} (HTML, KPIs + forecast)", "web", f"/sales/?period={period}", 1000.0),
        *[
            (f"dashboard panel {name} {period}", "web", f"/sales/panels/{name}/?period={period}", 500.0)
            for name in ("funnel", "stages", "lost")
        ],
    ]
    return [dict(name=n, actor=a, method="GET", path=u, target=t) for n, a, u, t in s]


def run(args) -> None:
    runner.setup_django()
    from django.db import connection

    vendor = connection.vendor
    info = prepare(args.workspace)
    print(
        f"{vendor}: {info['leads']:,} leads, {info['opportunities']:,} opportunities "
        f"({info['open']:,} open); by stage {info['by_stage']}",
        flush=True,
    )
    keys = {"admin": info["admin_key"], "sales": info["sales_key"], "web": runner.browser(args.workspace)}
    results = []
    with runner.serving(args.workers) as port:
        for scenario in scenarios(info, args.period, args.current):
            if args.only.lower() not in scenario["name"].lower():
                continue
            key = keys[scenario["actor"]]
            runner.warm_up(port, key, scenario, args.warmup)
            results += runner.rounds(
                port, key, scenario, args.requests, concurrent=not args.no_concurrent, width=52
            )
    runner.finish("sales-", vendor, info, args.requests, results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    actions = parser.add_subparsers(dest="action", required=True)
    gen = actions.add_parser("generate", help="Fill a new workspace with leads, deals and history.")
    gen.add_argument("--leads", type=int, default=1_000_000)
    gen.add_argument("--opportunities", type=int, default=500_000)
    gen.add_argument("--scale", type=float, default=1.0, help="Multiply both counts (0.02 = a quick run).")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--workspace", default="sales")
    go = actions.add_parser("run", help="Measure the board, forecast and reports through HTTP.")
    go.add_argument("--requests", type=int, default=100, help="Requests per scenario and mode.")
    go.add_argument("--warmup", type=int, default=5)
    go.add_argument("--workers", type=int, default=2)
    go.add_argument("--period", default="2026-Q3", help="The quarter of the reports (a full one).")
    go.add_argument("--current", default="2026-Q4", help="The benchmark's current quarter.")
    go.add_argument("--only", default="", help="Only scenarios whose name contains this text.")
    go.add_argument("--no-concurrent", action="store_true")
    go.add_argument("--workspace", default="sales")
    args = parser.parse_args()
    generate(args) if args.action == "generate" else run(args)


if __name__ == "__main__":
    main()
