# ruff: noqa: S608 — SQL is assembled from table names, constants and validated numbers; values are parameters.
"""Lifecycle KPIs per month or quarter and the cohort retention matrix, from grouped SQL over orders.

Every figure is computed from the counted orders (``COUNTED_STATUSES``) and account creation
dates alone, with the workspace's ``churn_days``, so it does not depend on when scores were last
computed. The exact definitions are in docs/analytics.md; the names below follow them.
"""

from dataclasses import asdict, dataclass
from datetime import date

from django.db import connection
from django.utils import timezone

from .engine import Dialect
from .models import COUNTED_STATUSES
from .services import lifecycle_settings

MAX_PERIODS = 60


@dataclass
class Period:
    key: str
    start: date
    end: date  # exclusive

    @property
    def index(self) -> int:
        return self.start.year * 12 + self.start.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def periods(kind: str, start: date, end: date) -> list[Period]:
    """The months (or quarters) from the one holding ``start`` to the one holding ``end``."""
    step = 3 if kind == "quarter" else 1
    first = start.year * 12 + start.month - 1
    last = end.year * 12 + end.month - 1
    first -= first % step
    out = []
    for index in range(first, last + 1, step):
        begin = month_start(index)
        key = (
            f"{begin.year}-Q{(begin.month - 1) // 3 + 1}" if step == 3 else f"{begin.year}-{begin.month:02d}"
        )
        out.append(Period(key, begin, month_start(index + step)))
    return out[-MAX_PERIODS:]


def _month_index(d: Dialect, column: str) -> str:
    if d.pg:
        return (
            f"(CAST(EXTRACT(YEAR FROM {column}) AS integer) * 12 "
            f"+ CAST(EXTRACT(MONTH FROM {column}) AS integer) - 1)"
        )
    return (
        f"(CAST(strftime('%%Y', {column}) AS INTEGER) * 12 + CAST(strftime('%%m', {column}) AS INTEGER) - 1)"
    )


def _orders_cte(d: Dialect) -> str:
    statuses = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    window = "PARTITION BY account_id ORDER BY order_date, id"
    return (
        "o AS (SELECT account_id, order_date AS d, LAG(order_date) OVER (" + window + ") AS prev, "
        "LEAD(order_date) OVER (" + window + ") AS nxt FROM commerce_order "
        f"WHERE workspace_id = %(ws)s AND status IN ({statuses}) AND order_date < {d.date('end')})"
    )


def _periods_cte(d: Dialect, items: list[Period]) -> str:
    def lit(day: date) -> str:
        return f"CAST('{day.isoformat()}' AS date)" if d.pg else f"'{day.isoformat()}'"

    rows = ", ".join(f"({lit(p.start)}, {lit(p.end)})" for p in items)
    return f"per AS (SELECT column1 AS pstart, column2 AS pend FROM (VALUES {rows}) AS v)"


CACHE_SECONDS = 300


def _cached(name: str, workspace, *parts, compute):
    """KPIs scan all of a workspace's orders (seconds at 10M): keep each answer five minutes."""
    from django.core.cache import cache

    key = f"analytics:{name}:{workspace.pk}:" + ":".join(str(p) for p in parts)
    return cache.get_or_set(key, compute, CACHE_SECONDS)


def compute_kpis(workspace, kind: str, start: date, end: date) -> list[dict]:
    """One dict per period: the counts and rates defined in docs/analytics.md (cached 5 minutes)."""
    return _cached(
        "kpis",
        workspace,
        kind,
        start,
        end,
        timezone.localdate(),
        compute=lambda: _compute_kpis(workspace, kind, start, end),
    )


def cohort_matrix(workspace, start: date, end: date) -> list[dict]:
    """Cohorts by month of first order from ``start`` to ``end``; retained in month k = ordered in
    the k-th month after the cohort month (k = 0 is the cohort month itself, always 100%). Cached."""
    return _cached("cohorts", workspace, start, end, compute=lambda: _cohort_matrix(workspace, start, end))


def _compute_kpis(workspace, kind: str, start: date, end: date) -> list[dict]:
    items = periods(kind, start, end)
    if not items:
        return []
    d = Dialect()
    churn = int(lifecycle_settings(workspace).churn_days)
    today = timezone.localdate()
    step = 3 if kind == "quarter" else 1
    params = {"ws": workspace.pk, "end": items[-1].end.isoformat(), "today": today.isoformat()}
    rows = {p.start: {"period": p.key, "start": p.start, "end": p.end} for p in items}
    bucket = {p.index - p.index % step: p.start for p in items}

    def bucketed(column: str) -> str:
        return f"({_month_index(d, column)} / {step}) * {step}" if step > 1 else _month_index(d, column)

    with connection.cursor() as cur:
        # New customers, buyers, repeat buyers and win-backs, by the period of the order.
        cur.execute(
            f"WITH {_orders_cte(d)} SELECT {bucketed('d')} AS b, "
            "COUNT(DISTINCT CASE WHEN prev IS NULL THEN account_id END), COUNT(DISTINCT account_id), "
            "COUNT(DISTINCT CASE WHEN prev IS NOT NULL THEN account_id END), "
            f"COUNT(DISTINCT CASE WHEN {d.days('d', 'prev')} >= {churn} THEN account_id END) "
            f"FROM o WHERE d >= {d.date('start')} GROUP BY {bucketed('d')}",
            params | {"start": items[0].start.isoformat()},
        )
        for b, new, buyers, repeat, won_back in cur.fetchall():
            if int(b) in bucket:
                rows[bucket[int(b)]].update(
                    new_customers=new, buyers=buyers, repeat_buyers=repeat, won_back=won_back
                )
        # First-purchase rate: prospects at the period start and those of them who bought in it.
        cur.execute(
            f"WITH {_periods_cte(d, items)}, f AS (SELECT account_id, MIN(order_date) AS first FROM "
            "commerce_order "
            f"WHERE workspace_id = %(ws)s AND status IN ({', '.join(repr(s) for s in COUNTED_STATUSES)}) "
            "GROUP BY account_id) "
            "SELECT per.pstart, COUNT(*), SUM(CASE WHEN f.first < per.pend THEN 1 ELSE 0 END) FROM per "
            "JOIN customers_account a ON a.workspace_id = %(ws)s AND a.created_at < per.pstart "
            "LEFT JOIN f ON f.account_id = a.id WHERE f.first IS NULL OR f.first >= per.pstart GROUP BY "
            "per.pstart",
            params,
        )
        for pstart, prospects, first in cur.fetchall():
            rows[_day(pstart)].update(prospects_at_start=prospects, first_purchases=int(first or 0))
        # Churn rate: customers active at the period start, and those of them who churned in it.
        cur.execute(
            f"WITH {_orders_cte(d)}, {_periods_cte(d, items)}, "
            "base AS (SELECT per.pstart, o.account_id FROM per JOIN o ON o.d < per.pstart "
            f"AND {d.add_days('o.d', str(churn))} > per.pstart GROUP BY per.pstart, o.account_id), "
            "ch AS (SELECT per.pstart, o.account_id FROM per JOIN o ON "
            f"(o.nxt IS NULL OR {d.days('o.nxt', 'o.d')} >= {churn}) "
            f"AND {d.add_days('o.d', str(churn))} >= per.pstart AND {d.add_days('o.d', str(churn))} < "
            "per.pend "
            f"AND {d.add_days('o.d', str(churn))} <= {d.date('today')} GROUP BY per.pstart, o.account_id) "
            "SELECT base.pstart, COUNT(*), COUNT(ch.account_id) FROM base LEFT JOIN ch "
            "ON ch.pstart = base.pstart AND ch.account_id = base.account_id GROUP BY base.pstart",
            params,
        )
        for pstart, active, churned in cur.fetchall():
            rows[_day(pstart)].update(active_at_start=active, churned=churned)
    out = []
    for p in items:
        row = rows[p.start]
        for key in (
            "new_customers",
            "buyers",
            "repeat_buyers",
            "won_back",
            "prospects_at_start",
            "first_purchases",
            "active_at_start",
            "churned",
        ):
            row.setdefault(key, 0)
        row["first_purchase_rate"] = _rate(row["first_purchases"], row["prospects_at_start"])
        row["repeat_purchase_rate"] = _rate(row["repeat_buyers"], row["buyers"])
        row["churn_rate"] = _rate(row["churned"], row["active_at_start"])
        row["start"], row["end"] = p.start.isoformat(), p.end.isoformat()
        out.append(row)
    return out


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Cohort:
    cohort: str
    size: int
    retained: list[int]  # index k: accounts of the cohort with an order in month k (k = 0 … )
    rates: list[float]


def _cohort_matrix(workspace, start: date, end: date) -> list[dict]:
    d = Dialect()
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    statuses = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    orders = f"commerce_order WHERE workspace_id = %(ws)s AND status IN ({statuses})"
    with connection.cursor() as cur:
        cur.execute(
            f"WITH f AS (SELECT account_id, MIN(order_date) AS first FROM {orders} GROUP BY account_id), "
            f"m AS (SELECT DISTINCT o.account_id, {_month_index(d, 'f.first')} AS c, "
            f"{_month_index(d, 'o.order_date')} - {_month_index(d, 'f.first')} AS k "
            f"FROM commerce_order o JOIN f ON f.account_id = o.account_id WHERE o.workspace_id = %(ws)s "
            f"AND o.status IN ({statuses})) "
            "SELECT c, k, COUNT(*) FROM m WHERE c >= %(first)s AND c <= %(last)s GROUP BY c, k ORDER BY c, k",
            {"ws": workspace.pk, "first": first, "last": last},
        )
        cells = cur.fetchall()
    horizon = last - first
    table: dict[int, list[int]] = {c: [0] * (last - c + 1) for c in range(first, last + 1)}
    for c, k, n in cells:
        c, k = int(c), int(k)
        if k < len(table[c]):
            table[c][k] = n
    out = []
    for c, retained in table.items():
        size = retained[0]
        if not size:
            continue
        begin = month_start(c)
        rates = [round(n / size, 4) for n in retained]
        out.append(asdict(Cohort(f"{begin.year}-{begin.month:02d}", size, retained, rates)))
    del horizon
    return out
