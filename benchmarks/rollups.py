"""What the rollup triggers cost a write (issue 7): the same statements with and without them.

On the analytics benchmark's data (``benchmarks/analytics.py generate``), in a transaction that is
rolled back each time (the data is left as it was):

- a bulk insert of N orders through ``customers.bulk.Table`` (COPY on PostgreSQL: the import path);
- an UPDATE of M accounts' grade and lifecycle stage (what the analytics engine writes);
- an UPDATE of the same M accounts that changes no rollup column (their description);
- an UPDATE of the status of N orders.

"without" disables the rollup triggers (``ALTER TABLE … DISABLE TRIGGER``, inside the rolled-back
transaction); the tile cache's change-log triggers stay on in both, so the difference is the
rollups' own cost. Rounds alternate with/without; medians are printed with the load average.

    python benchmarks/rollups.py [--workspace analytics] [--orders 10000] [--accounts 100000] [--rounds 5]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

TRIGGERS = {
    "commerce_order": [f"commerce_orderrollup_keep_{e}" for e in ("insert", "update", "delete")],
    "customers_account": [f"customers_accountrollup_keep_{e}" for e in ("insert", "update", "delete")],
}


class Rollback(Exception):
    pass


def _switch(cursor, on: bool) -> None:
    for table, names in TRIGGERS.items():
        for name in names:
            cursor.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="analytics")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from kehu.commerce.models import Order
    from kehu.customers.bulk import Table
    from kehu.workspaces.models import Workspace

    with scopes_disabled():
        workspace = Workspace.objects.get(slug=args.workspace)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_account WHERE workspace_id = %s ORDER BY id LIMIT %s",
            [workspace.pk, args.accounts],
        )
        account_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id FROM commerce_order WHERE workspace_id = %s ORDER BY id LIMIT %s",
            [workspace.pk, args.orders],
        )
        order_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT owner_id FROM customers_account WHERE id = %s", [account_ids[0]])
        owner_id = cursor.fetchone()[0]
    first, last = min(account_ids), max(account_ids)
    now = time.time()
    stamp = datetime.now(UTC)
    columns = (
        "workspace_id",
        "number",
        "account_id",
        "owner_id",
        "order_date",
        "status",
        "currency",
        "total_amount",
        "base_total_amount",
        "created_at",
        "updated_at",
    )

    def insert_orders(cursor):
        rows = [
            (
                workspace.pk,
                f"RB-{now}-{i}",
                account_ids[i % len(account_ids)],
                owner_id,
                date(2026, 1, 1) + timedelta(days=i % 180),
                "paid",
                "CNY",
                Decimal(i % 997),
                Decimal(i % 997),
                stamp,
                stamp,
            )
            for i in range(args.orders)
        ]
        Table(Order, columns).insert(rows)

    def update_grades(cursor):
        cursor.execute(
            "UPDATE customers_account SET grade = CASE WHEN grade = 'strategic' THEN 'important' "
            "ELSE 'strategic' END, lifecycle_stage = 'at_risk' "
            "WHERE workspace_id = %s AND id BETWEEN %s AND %s",
            [workspace.pk, first, last],
        )

    def update_descriptions(cursor):
        cursor.execute(
            "UPDATE customers_account SET description = description || '.' "
            "WHERE workspace_id = %s AND id BETWEEN %s AND %s",
            [workspace.pk, first, last],
        )

    def update_status(cursor):
        cursor.execute(
            "UPDATE commerce_order SET status = CASE WHEN status = 'paid' THEN 'shipped' ELSE 'paid' END "
            "WHERE workspace_id = %s AND id BETWEEN %s AND %s",
            [workspace.pk, min(order_ids), max(order_ids)],
        )

    cases = [
        (f"insert {args.orders:,} orders (COPY)", insert_orders),
        (f"update {len(account_ids):,} accounts' grade and stage", update_grades),
        (f"update {len(account_ids):,} accounts' description", update_descriptions),
        (f"update {len(order_ids):,} orders' status", update_status),
    ]
    load = os.getloadavg()
    print(f"Database: {connection.vendor}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    timings = {(name, on): [] for name, _f in cases for on in (True, False)}
    for _round in range(args.rounds):
        for name, case in cases:
            for on in (False, True):
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        if not on:
                            _switch(cursor, False)
                        started = time.perf_counter()
                        case(cursor)
                        timings[(name, on)].append((time.perf_counter() - started) * 1000)
                        raise Rollback
                except Rollback:
                    pass
    print(f"\n{'statement':44s} {'without ms':>11s} {'with ms':>9s} {'extra':>7s}  (median of {args.rounds})")
    for name, _case in cases:
        without = statistics.median(timings[(name, False)])
        with_ = statistics.median(timings[(name, True)])
        print(f"{name:44s} {without:11.0f} {with_:9.0f} {with_ / without - 1:7.0%}")
    load = os.getloadavg()
    print(f"Load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
