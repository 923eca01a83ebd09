# ruff: noqa: S311 — a seeded generator must be reproducible, not cryptographic.
"""The customer analytics benchmark (issue 7): full and incremental recompute of lifecycle, RFM,
grade and profitability.

``generate`` fills a new workspace ``analytics`` with N accounts and about M counted orders over
four years (deterministic for a given ``--seed``; COPY on PostgreSQL, secondary indexes dropped
during the load and re-created — the conventions of ``kehu bench generate``). ``run`` times a full
recompute step by step with the process's peak memory, then adds 1,000 new orders and times the
incremental recompute.

    python benchmarks/analytics.py generate [--accounts 1000000] [--orders 10000000] [--scale 0.1]
    python benchmarks/analytics.py run

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/analytics.py generate --scale 0.1 &&
.venv/bin/python benchmarks/analytics.py run'``.
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

SLUG = "analytics"
AS_OF = date(2026, 6, 30)
START = date(2022, 7, 1)
FULL_TARGET, INCREMENTAL_TARGET = 120.0, 5.0


def generate(args) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from kehu.commerce.models import Order
    from kehu.customers.models import Account
    from kehu.operations.management.commands.bench import (
        Command,
        TableWriter,
        indexes_dropped,
        next_id,
        reset_sequences,
    )

    n_accounts = max(10, int(args.accounts * args.scale))
    n_orders = max(10, int(args.orders * args.scale))
    rng = random.Random(args.seed)
    bench = Command()
    overall = time.monotonic()
    print(f"Generating into {connection.vendor}: {n_accounts:,} accounts, ~{n_orders:,} orders.", flush=True)
    with transaction.atomic():
        workspace, actor, sales = bench.workspace(SLUG)
    stamp = {"workspace_id": workspace.pk, "created_by_id": actor.user.pk, "updated_by_id": actor.user.pk}
    owners = [u.pk for u in sales]
    span = (AS_OF - START).days
    created = datetime(2022, 1, 1, tzinfo=UTC)
    a0 = next_id(Account)
    sizes = ["1-9", "10-49", "50-249", "250-999", "1000+", ""]
    with indexes_dropped([Account, Order], print), transaction.atomic():
        accounts = TableWriter(Account, ids=True)
        orders = TableWriter(Order, batch=50_000)
        per_account = n_orders / n_accounts
        number = 0
        for i in range(n_accounts):
            at = created + timedelta(seconds=i * 86400 * 1500 / n_accounts)
            accounts.add(
                {
                    **stamp,
                    "id": a0 + i,
                    "created_at": at,
                    "updated_at": at,
                    "owner_id": rng.choice(owners),
                    "name": f"客户{i:07d}",
                    "kind": "company",
                    "country": "CN",
                    "size": rng.choice(sizes),
                    "custom": {},
                }
            )
            # 20% prospects; the others buy at their own pace from a first order on.
            if rng.random() < 0.2:
                continue
            count = max(1, round(rng.expovariate(1 / (per_account / 0.8))))
            first = rng.randrange(span)
            # Spread the orders over the rest of the span, at an irregular pace.
            pace = max(1.0, (span - first) / count)
            day = first
            typical = rng.choice([300, 1000, 3000, 10000, 50000])
            for _ in range(count):
                if day > span:
                    break
                number += 1
                amount = Decimal(int(typical * (0.5 + rng.random()))).quantize(Decimal("1.00"))
                cost = (amount * Decimal("0.6")).quantize(Decimal("1.00"))
                status = "cancelled" if rng.random() < 0.03 else rng.choice(["confirmed", "paid", "shipped"])
                moment = datetime.combine(START + timedelta(days=day), datetime.min.time(), UTC)
                orders.add(
                    {
                        **stamp,
                        "created_at": moment,
                        "updated_at": moment,
                        "owner_id": rng.choice(owners),
                        "number": f"SO{number:09d}",
                        "account_id": a0 + i,
                        "order_date": START + timedelta(days=day),
                        "status": status,
                        "currency": "CNY",
                        "total_amount": amount,
                        "total_cost": cost,
                        "discount": Decimal(0),
                        "exchange_rate": Decimal(1),
                        "base_total_amount": amount,
                        "base_total_cost": cost,
                        "custom": {},
                    }
                )
                day += max(1, int(rng.uniform(0.2, 1.8) * pace))
            if i and i % 100_000 == 0:
                print(f"  {i:,} accounts, {number:,} orders", flush=True)
        accounts.flush()
        orders.flush()
    reset_sequences([Account, Order])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Generated {accounts.count:,} accounts and {orders.count:,} orders in "
        f"{time.monotonic() - overall:.0f} s.",
        flush=True,
    )


def run(args) -> None:
    import django

    django.setup()
    from django.db import connection
    from django_scopes import scope, scopes_disabled

    from kehu.analytics import engine
    from kehu.analytics.models import CustomerScore
    from kehu.commerce.models import Order
    from kehu.customers.models import Account
    from kehu.workspaces.models import Workspace

    with scopes_disabled():
        workspace = Workspace.objects.get(slug=SLUG)
    load = os.getloadavg()
    print(f"Database: {connection.vendor}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with scope(workspace=workspace):
        accounts = Account.objects.count()
        orders = Order.objects.count()
        print(f"{accounts:,} accounts, {orders:,} orders")
        started = time.monotonic()
        full = engine.compute(workspace, "full", as_of=AS_OF)
        full_seconds = time.monotonic() - started
        print(f"Full recompute: {full_seconds:.1f} s (target {FULL_TARGET:.0f} s at 1M/10M)")
        for step, seconds in full.stats["seconds"].items():
            print(f"  {step:10s} {seconds:8.1f} s")
        print(f"  peak memory (this process, ru_maxrss): {engine.peak_memory_mb()} MB")
        segments = CustomerScore.objects.exclude(segment="").count()
        print(f"  {segments:,} customers with an RFM segment")
        # The nightly case: a second full run, where history rows are written only for changes.
        started = time.monotonic()
        again = engine.compute(workspace, "full", as_of=AS_OF + timedelta(days=1))
        print(f"Second full recompute (next day): {time.monotonic() - started:.1f} s")
        for step, seconds in again.stats["seconds"].items():
            print(f"  {step:10s} {seconds:8.1f} s")
        # 1,000 new orders of existing customers (random ones), then the incremental recompute.
        stamp = int(time.time())  # a second run adds its own 1,000 orders
        ids = list(Account.objects.order_by("?").values_list("pk", flat=True)[:1000])
        new = [
            Order(
                workspace=workspace,
                number=f"NEW{stamp}-{i:04d}",
                account_id=ids[i % len(ids)],
                order_date=AS_OF,
                status="confirmed",
                currency="CNY",
                total_amount=Decimal(1000),
                total_cost=Decimal(600),
                base_total_amount=Decimal(1000),
                base_total_cost=Decimal(600),
            )
            for i in range(1000)
        ]
        Order.objects.bulk_create(new, batch_size=1000)
        started = time.monotonic()
        inc = engine.compute(workspace, "incremental", as_of=AS_OF + timedelta(days=1))
        inc_seconds = time.monotonic() - started
        print(
            f"Incremental recompute after 1,000 new orders: {inc_seconds:.2f} s "
            f"({inc.accounts:,} accounts; target {INCREMENTAL_TARGET:.0f} s)"
        )
        for step, seconds in inc.stats["seconds"].items():
            print(f"  {step:10s} {seconds:8.2f} s")
    load = os.getloadavg()
    print(f"Load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--accounts", type=int, default=1_000_000)
    gen.add_argument("--orders", type=int, default=10_000_000)
    gen.add_argument("--scale", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=7)
    sub.add_parser("run")
    args = parser.parse_args()
    {"generate": generate, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
