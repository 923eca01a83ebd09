# ruff: noqa: S608 — the SQL is built from model metadata and numbers (no user text).
"""The customer analytics benchmark (issue 7): full and incremental recompute of lifecycle, RFM,
grade and profitability.

``generate`` fills a new workspace ``analytics`` with N accounts and about M counted orders over
four years (deterministic for a given ``--seed``; COPY on PostgreSQL, secondary indexes dropped
during the load and re-created — the conventions of ``kehu bench generate``). ``run`` times a full
recompute step by step with the process's peak memory, then adds 1,000 new orders and times the
incremental recompute.

    python benchmarks/analytics.py generate [--accounts 1000000] [--orders 10000000] [--scale 0.1]
    python benchmarks/analytics.py run [--days-after N] [--with-clv]

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/analytics.py generate --scale 0.1 &&
.venv/bin/python benchmarks/analytics.py run'``.
"""

import argparse
import os
import sys
import time
from datetime import date, timedelta
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
    from kehu.operations.management.commands.bench import Command, indexes_dropped, next_id, reset_sequences

    if connection.vendor != "postgresql":
        sys.exit("The analytics benchmark generates its data with PostgreSQL functions (KEHU_DATABASE_URL).")
    n_accounts = max(10, int(args.accounts * args.scale))
    n_orders = max(10, int(args.orders * args.scale))
    bench = Command()
    overall = time.monotonic()
    print(f"Generating into {connection.vendor}: {n_accounts:,} accounts, ~{n_orders:,} orders.", flush=True)
    with transaction.atomic():
        workspace, actor, sales = bench.workspace(SLUG)
    a0 = next_id(Account)
    common = {
        "workspace_id": str(workspace.pk),
        "created_by_id": str(actor.user.pk),
        "updated_by_id": str(actor.user.pk),
        "owner_id": f"(ARRAY{[u.pk for u in sales]}::bigint[])"
        f"[1 + {_pick('s.n', args.seed + 1, len(sales))}]",
    }
    span = (AS_OF - START).days
    step = 86400 * 1500 / n_accounts  # accounts created over 1,500 days, in id order
    created = f"timestamptz '2022-01-01 00:00+00' + s.n * interval '1 second' * {step}"
    account_sql = _insert_select(
        Account,
        {
            **common,
            "id": f"{a0} + s.n",
            "created_at": created,
            "updated_at": created,
            "name": "'客户' || lpad(s.n::text, 7, '0')",
            "kind": "'company'",
            "country": "'CN'",
            "size": f"(ARRAY{SIZES})[1 + {_pick('s.n', args.seed + 2, len(SIZES))}]",
        },
        "generate_series(%(lo)s, %(hi)s) AS s(n)",
    )
    # Per account (s.n): 20 % prospects; the others buy `cnt` times (exponential, mean orders / 0.8 per
    # buyer) from a first day on, spread over the rest of the span at an irregular pace. Per order (k):
    # its day, amount around the account's typical size, 3 % cancelled.
    per_buyer = n_orders / n_accounts / 0.8
    plan = (
        f"(SELECT s.n, cnt, first, greatest(1.0, ({span} - first)::float8 / cnt) AS pace, typical FROM ("
        f"SELECT n, least(4000, greatest(1, round(-ln(1 - {_u('n', args.seed + 3)}) * {per_buyer})))::int"
        f" AS cnt,"
        f" floor({_u('n', args.seed + 4)} * {span})::int AS first,"
        f" (ARRAY{TYPICAL})[1 + {_pick('n', args.seed + 5, len(TYPICAL))}] AS typical"
        f" FROM generate_series(%(lo)s, %(hi)s) AS n WHERE {_u('n', args.seed + 6)} >= 0.2) AS s"
        f") AS p CROSS JOIN LATERAL ("
        f"SELECT k, (p.n::bigint << 12) + k AS key, greatest(p.first, p.first + floor("
        f"(k + 0.8 * ({_u('(p.n::bigint << 12) + k', args.seed + 7)} - 0.5)) * p.pace))::int AS day"
        f" FROM generate_series(0, p.cnt - 1) AS k) AS o"
    )
    amount = f"floor(p.typical * (0.5 + {_u('o.key', args.seed + 8)}))::numeric(18, 2)"
    moment = f"(timestamptz '{START.isoformat()} 00:00+00' + o.day * interval '1 day')"
    order_sql = _insert_select(
        Order,
        {
            **{**common, "owner_id": common["owner_id"].replace("s.n", "o.key")},
            "created_at": moment,
            "updated_at": moment,
            "number": "'SO' || p.n || '-' || o.k",
            "account_id": f"{a0} + p.n",
            "order_date": f"(date '{START.isoformat()}' + o.day)",
            "status": f"CASE WHEN {_u('o.key', args.seed + 9)} < 0.03 THEN 'cancelled' ELSE "
            f"(ARRAY['confirmed', 'paid', 'shipped'])[1 + {_pick('o.key', args.seed + 10, 3)}] END",
            "currency": "'CNY'",
            "total_amount": amount,
            "total_cost": f"round({amount} * 0.6, 2)",
            "base_total_amount": amount,
            "base_total_cost": f"round({amount} * 0.6, 2)",
        },
        f"{plan} WHERE o.day <= {span}",
    )
    chunk = 100_000
    with indexes_dropped([Account, Order], print), transaction.atomic(), connection.cursor() as cursor:
        started = time.monotonic()
        for lo in range(0, n_accounts, chunk):
            cursor.execute(account_sql, {"lo": lo, "hi": min(n_accounts, lo + chunk) - 1})
        print(f"  {n_accounts:,} accounts in {time.monotonic() - started:.1f} s", flush=True)
        started, orders = time.monotonic(), 0
        for lo in range(0, n_accounts, chunk):
            cursor.execute(order_sql, {"lo": lo, "hi": min(n_accounts, lo + chunk) - 1})
            orders += cursor.rowcount
            print(f"  accounts up to {min(n_accounts, lo + chunk):,}: {orders:,} orders "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    reset_sequences([Account, Order])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_account")
        cursor.execute("VACUUM ANALYZE commerce_order")
    print(f"Generated {n_accounts:,} accounts and {orders:,} orders in {time.monotonic() - overall:.0f} s.",
          flush=True)


SIZES = ["1-9", "10-49", "50-249", "250-999", "1000+", ""]
TYPICAL = [300, 1000, 3000, 10000, 50000]


def _u(key: str, seed: int) -> str:
    """A uniform draw in [0, 1) from a key and a seed: a real hash (deterministic, no random() state)."""
    return f"((hashint8extended(({key})::bigint, {seed}) & 4294967295)::float8 / 4294967296.0)"


def _pick(key: str, seed: int, n: int) -> str:
    return f"((hashint8extended(({key})::bigint, {seed}) & 2147483647) %% {n})"


def _insert_select(model, values: dict[str, str], source: str) -> str:
    """INSERT … SELECT over every concrete column of ``model``: the given expressions, the field's
    default (as a literal) for the rest; `%%` doubled where psycopg would read a placeholder."""
    from django.db import connection

    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        if field.column == "id" and "id" not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in values:
            exprs.append(values[field.column])
        elif field.null:
            exprs.append("NULL")
        else:
            default = field.get_default()
            if isinstance(default, dict):
                exprs.append("'{}'::jsonb")
            elif isinstance(default, str):
                exprs.append("'" + default.replace("'", "''") + "'")
            else:
                exprs.append(str(default))
    table = model._meta.db_table
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM {source}"


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
        day = AS_OF + timedelta(days=args.days_after)
        started = time.monotonic()
        full = engine.compute(workspace, "full", as_of=day)
        full_seconds = time.monotonic() - started
        print(f"Full recompute: {full_seconds:.1f} s (target {FULL_TARGET:.0f} s at 1M/10M)")
        for step, seconds in full.stats["seconds"].items():
            print(f"  {step:10s} {seconds:8.1f} s")
        print(f"  peak memory (this process, ru_maxrss): {engine.peak_memory_mb()} MB")
        segments = CustomerScore.objects.exclude(segment="").count()
        print(f"  {segments:,} customers with an RFM segment")
        if args.with_clv:
            # CLV in the same recompute: a refit of BG/NBD + Gamma-Gamma (with its holdout check) and the
            # scoring of every customer, sharing one pass over the orders (as the weekly refit does;
            # the scoring also computes churn risk and next best actions with the stored churn model).
            from kehu.predictions import services as predictions

            started = time.monotonic()
            days = predictions.orders_for_fit(workspace, day)
            pass_s = time.monotonic() - started
            fit = predictions.fit_clv(workspace, day, days=days)
            fit_s = time.monotonic() - started - pass_s
            scored = predictions.score(workspace, day, days=days)
            clv_s = time.monotonic() - started
            print(
                f"CLV: pass over the orders {pass_s:.1f} s, fit + holdout {fit_s:.1f} s ({fit.status}), "
                f"scoring {clv_s - pass_s - fit_s:.1f} s for {scored:,} customers"
            )
            print(
                f"Full recompute of lifecycle, RFM, grade and CLV: {full_seconds + clv_s:.1f} s "
                f"(target {FULL_TARGET:.0f} s); peak memory {engine.peak_memory_mb()} MB"
            )
        # The nightly case: a second full run, where history rows are written only for changes.
        started = time.monotonic()
        again = engine.compute(workspace, "full", as_of=day + timedelta(days=1))
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
                order_date=day + timedelta(days=1),
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
        inc = engine.compute(workspace, "incremental", as_of=day + timedelta(days=1))
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
    r = sub.add_parser("run")
    r.add_argument(
        "--days-after",
        type=int,
        default=0,
        help="compute as of this many days after the data's end (a rerun: 2, 4, … = consecutive nights)",
    )
    r.add_argument(
        "--with-clv",
        action="store_true",
        help="after the full recompute, refit CLV and score every customer (benchmarks/predictions.py first)",
    )
    args = parser.parse_args()
    {"generate": generate, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
