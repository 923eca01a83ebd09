# ruff: noqa: S311 — a seeded generator must be reproducible, not cryptographic.
"""The predictions benchmark (issue 7): CLV fit (BG/NBD + Gamma-Gamma) and churn training at scale.

``generate`` fills a new workspace ``predictions`` with N accounts and their orders over two years,
drawn by ``kehu.predictions.synthetic.simulate`` (the planted churn signal included; complaints as
feedback rows; no interaction rows at this scale) — COPY on PostgreSQL, secondary indexes dropped
during the load and re-created, the conventions of ``kehu bench generate``. ``run`` times the CLV
fit (summary query, both fits, the holdout check), the churn training (features at two cutoffs,
labels, two fits) and the nightly scoring of every customer, with the process's peak memory.

    python benchmarks/predictions.py generate [--accounts 100000] [--pace 0.5]
    python benchmarks/predictions.py run [--workspace analytics]

``--workspace analytics`` times the same steps on the analytics benchmark's data (1M accounts,
10M orders; no planted signal, so its AUC only says the recency/frequency features predict).

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/predictions.py generate --accounts 1000000 &&
.venv/bin/python benchmarks/predictions.py run'``.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

SLUG = "predictions"
AS_OF = date(2026, 6, 30)
CLV_TARGET = CHURN_TARGET = 120.0


def generate(args) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from kehu.commerce.models import Feedback, Order
    from kehu.customers.models import Account
    from kehu.operations.management.commands.bench import (
        Command,
        TableWriter,
        indexes_dropped,
        next_id,
        reset_sequences,
    )
    from kehu.predictions.synthetic import HISTORY_DAYS, simulate

    rng = random.Random(args.seed)
    bench = Command()
    overall = time.monotonic()
    print(f"Generating into {connection.vendor}: {args.accounts:,} accounts (pace {args.pace}).", flush=True)
    with transaction.atomic():
        workspace, actor, sales = bench.workspace(SLUG)
    stamp = {"workspace_id": workspace.pk, "created_by_id": actor.user.pk, "updated_by_id": actor.user.pk}
    owners = [u.pk for u in sales]
    start = AS_OF - timedelta(days=HISTORY_DAYS)
    created = datetime.combine(start, datetime.min.time(), UTC)
    a0 = next_id(Account)
    with indexes_dropped([Account, Order, Feedback], print), transaction.atomic():
        accounts = TableWriter(Account, ids=True)
        orders = TableWriter(Order, batch=50_000)
        feedback = TableWriter(Feedback)
        number = 0
        for i in range(args.accounts):
            owner = rng.choice(owners)
            accounts.add(
                {
                    **stamp,
                    "id": a0 + i,
                    "created_at": created,
                    "updated_at": created,
                    "owner_id": owner,
                    "name": f"客户{i:07d}",
                    "kind": "company",
                    "custom": {},
                }
            )
            bought, _talks, complained = simulate(rng, start, AS_OF, pace=args.pace)
            for day, amount in bought:
                number += 1
                money = Decimal(str(amount))
                cost = (money * Decimal("0.6")).quantize(Decimal("1.00"))
                moment = datetime.combine(day, datetime.min.time(), UTC)
                orders.add(
                    {
                        **stamp,
                        "created_at": moment,
                        "updated_at": moment,
                        "owner_id": owner,
                        "number": f"P{number:010d}",
                        "account_id": a0 + i,
                        "order_date": day,
                        "status": "confirmed",
                        "currency": "CNY",
                        "total_amount": money,
                        "total_cost": cost,
                        "discount": Decimal(0),
                        "exchange_rate": Decimal(1),
                        "base_total_amount": money,
                        "base_total_cost": cost,
                        "custom": {},
                    }
                )
            for day in complained:
                moment = datetime.combine(day, datetime.min.time(), UTC)
                feedback.add(
                    {
                        **stamp,
                        "created_at": moment,
                        "updated_at": moment,
                        "owner_id": owner,
                        "account_id": a0 + i,
                        "kind": "complaint",
                        "channel": "phone",
                        "rating": 1,
                        "received_at": moment,
                    }
                )
            if i and i % 100_000 == 0:
                print(f"  {i:,} accounts, {number:,} orders", flush=True)
        accounts.flush()
        orders.flush()
        feedback.flush()
    reset_sequences([Account, Order, Feedback])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Generated {accounts.count:,} accounts, {orders.count:,} orders, {feedback.count:,} complaints "
        f"in {time.monotonic() - overall:.0f} s.",
        flush=True,
    )


def run(args) -> None:
    import django

    django.setup()
    from django.db import connection
    from django_scopes import scope

    from kehu.analytics.engine import peak_memory_mb as peak_mb
    from kehu.predictions import services
    from kehu.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=args.workspace)
    print(
        f"Database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} (2 cores, shared)", flush=True
    )
    with scope(workspace=workspace):
        if args.score_only:
            started = time.monotonic()
            scored = services.score(workspace, AS_OF)
            print(
                f"Scoring (nightly, stored models): {time.monotonic() - started:.1f} s for {scored:,} "
                f"customers; peak memory {peak_mb()} MB; load average after {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            return
        started = time.monotonic()
        clv_row = services.fit_clv(workspace, AS_OF)
        clv_s = time.monotonic() - started
        print(
            f"CLV fit: {clv_s:.1f} s (target ≤ {CLV_TARGET:.0f} s) — {clv_row.customers:,} customers, "
            f"{clv_row.repeat_customers:,} repeat; params {clv_row.params}; holdout {clv_row.calibration}; "
            f"peak memory {peak_mb()} MB",
            flush=True,
        )
        started = time.monotonic()
        churn_row = services.train_churn(workspace, AS_OF)
        churn_s = time.monotonic() - started
        print(
            f"Churn training: {churn_s:.1f} s (target ≤ {CHURN_TARGET:.0f} s) — "
            f"train {churn_row.train_size:,}, test {churn_row.test_size:,}, AUC {churn_row.auc:.3f}, "
            f"precision {churn_row.precision:.3f}, recall {churn_row.recall:.3f}, "
            f"Brier {churn_row.brier:.3f}, threshold {churn_row.threshold:.3f}; "
            f"peak memory {peak_mb()} MB",
            flush=True,
        )
        started = time.monotonic()
        scored = services.score(workspace, AS_OF)
        score_s = time.monotonic() - started
        print(
            f"Scoring (predictions, reasons, next best actions, upsert): {score_s:.1f} s for {scored:,} "
            f"customers; peak memory {peak_mb()} MB",
            flush=True,
        )
    print(f"Load average after: {os.getloadavg()[0]:.2f}")
    ok = clv_s <= CLV_TARGET and churn_s <= CHURN_TARGET
    print("PASS" if ok else "MISS", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--accounts", type=int, default=100_000)
    g.add_argument("--pace", type=float, default=0.5, help="Order rate factor (0.5 ≈ 10 orders per account)")
    g.add_argument("--seed", type=int, default=7)
    r = sub.add_parser("run")
    r.add_argument(
        "--workspace",
        default=SLUG,
        help="analytics = the 1M-account / 10M-order data of benchmarks/analytics.py generate",
    )
    r.add_argument(
        "--score-only",
        action="store_true",
        help="the nightly job alone: score every customer with the stored models (no refit)",
    )
    args = parser.parse_args()
    {"generate": generate, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
