"""Purchase days per customer: the one pass over orders that CLV and churn both read.

The BG/NBD summary (x, t_x, T, m) and the churn model's order features are aggregates of the same
grouping — a workspace's confirmed orders before a cutoff, per account and day (the orders of one
day are one purchase, as in the paper). At 10M orders one such pass is most of a scoring run's
SQL time, so it is made once per cutoff and handed to both (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import connection
from django.db.models import Max, Min

from kehu.core import parallel

RECENT_DAYS = 90  # the churn features' "last 90 days" and "the 90 days before"


@dataclass(frozen=True)
class OrderDays:
    """Per account with a confirmed order before ``end``, in account id order."""

    end: date
    account_ids: np.ndarray  # int64
    first: np.ndarray  # datetime64[D]: the first purchase day
    last: np.ndarray  # datetime64[D]: the last purchase day
    days: np.ndarray  # purchase days (x + 1)
    repeat_total: np.ndarray  # Σ base amount of the days after the first
    # The churn features' sums (None in ``before``, which has the CLV summary's columns only):
    total: np.ndarray | None  # Σ of all days
    recent_total: np.ndarray | None  # Σ of the days in the last RECENT_DAYS before end
    previous_total: np.ndarray | None  # Σ of the days in the RECENT_DAYS before those
    recent_days: np.ndarray | None  # purchase days in the last RECENT_DAYS
    # The same pass seen at an earlier ``split`` (the CLV holdout's calibration), when asked for.
    before: OrderDays | None = None

    @property
    def size(self) -> int:
        return int(self.account_ids.size)

    def days_at(self, account_ids: np.ndarray) -> np.ndarray:
        """Purchase days of the given accounts (0 for accounts without any)."""
        pos = np.searchsorted(self.account_ids, account_ids)
        hit = pos < self.size
        hit[hit] = self.account_ids[pos[hit]] == account_ids[hit]
        out = np.zeros(account_ids.size)
        out[hit] = self.days[pos[hit]]
        return out


def order_days(workspace, end: date, split: date | None = None) -> OrderDays:
    """One streaming pass: the orders grouped per account and day (each day knowing its account's first
    day by a window over the same grouping), then per account — split by account id over
    ``kehu.core.parallel`` worker connections (the window keeps PostgreSQL from a parallel plan).
    ``split``: also the customers as they were before that day (``.before``), from the same pass."""
    from kehu.commerce.models import Order
    from kehu.commerce.services import REVENUE_STATUSES
    from kehu.customers.models import Account

    table = connection.ops.quote_name(Order._meta.db_table)
    placeholders = ", ".join(["%s"] * len(REVENUE_STATUSES))
    recent, previous = end - timedelta(days=RECENT_DAYS), end - timedelta(days=2 * RECENT_DAYS)
    # The customers before ``split``, only when asked for (three more aggregates over every row).
    split_columns = (
        """,
               COUNT(*) FILTER (WHERE day < %s), MAX(day) FILTER (WHERE day < %s),
               CAST(SUM(amount) FILTER (WHERE day > first_day AND day < %s) AS DOUBLE PRECISION)"""
        if split is not None
        else ""
    )
    sql = f"""
        SELECT account_id, MIN(day), MAX(day), COUNT(*), CAST(SUM(amount) AS DOUBLE PRECISION),
               CAST(SUM(amount) FILTER (WHERE day > first_day) AS DOUBLE PRECISION),
               CAST(SUM(amount) FILTER (WHERE day >= %s) AS DOUBLE PRECISION),
               CAST(SUM(amount) FILTER (WHERE day >= %s AND day < %s) AS DOUBLE PRECISION),
               COUNT(*) FILTER (WHERE day >= %s){split_columns}
        FROM (
            SELECT account_id, order_date AS day, SUM(base_total_amount) AS amount,
                   MIN(order_date) OVER (PARTITION BY account_id) AS first_day
            FROM {table}
            WHERE workspace_id = %s AND status IN ({placeholders}) AND order_date < %s
                  AND account_id > %s AND account_id <= %s
            GROUP BY account_id, order_date
        ) AS days
        GROUP BY account_id
        ORDER BY account_id
    """  # noqa: S608 - a quoted table name, values as parameters
    params = [recent, previous, recent, recent, *([split] * 3 if split is not None else [])]
    params += [workspace.pk, *REVENUE_STATUSES, end]
    bounds = Account.objects.filter(workspace=workspace).aggregate(lo=Min("pk"), hi=Max("pk"))
    lo, hi = (bounds["lo"] or 1) - 1, bounds["hi"] or 0
    shares = parallel.WORKERS if parallel.can_use_workers() else 1
    step = -(-(hi - lo) // shares) if hi > lo else 1
    ranges = [(start, min(start + step, hi)) for start in range(lo, hi, step)]

    def part(cursor, bounds: tuple[int, int]) -> list[tuple]:
        cursor.execute(sql, [*params, *bounds])
        return cursor.fetchall()

    rows = [row for rows in parallel.on_workers(part, ranges) for row in rows]
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 12

    def money(values) -> np.ndarray:  # floats from the database (no Decimal per value); NULL is 0
        return np.nan_to_num(np.array(values, dtype=float), nan=0.0)

    ids = np.array(columns[0], dtype=np.int64)
    first = np.array(columns[1], dtype="datetime64[D]")
    before = None
    if split is not None:
        had = np.array(columns[9], dtype=float) > 0
        before = OrderDays(
            end=split,
            account_ids=ids[had],
            first=first[had],
            last=np.array(columns[10], dtype="datetime64[D]")[had],
            days=np.array(columns[9], dtype=float)[had],
            repeat_total=money(columns[11])[had],
            total=None,
            recent_total=None,
            previous_total=None,
            recent_days=None,
        )
    return OrderDays(
        end=end,
        account_ids=ids,
        first=first,
        last=np.array(columns[2], dtype="datetime64[D]"),
        days=np.array(columns[3], dtype=float),
        repeat_total=money(columns[5]),
        total=money(columns[4]),
        recent_total=money(columns[6]),
        previous_total=money(columns[7]),
        recent_days=np.array(columns[8], dtype=float),
        before=before,
    )
