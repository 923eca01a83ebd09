# ruff: noqa: S608 — SQL is assembled from table names, constants and validated numbers; values are parameters.
"""The computation of lifecycle stages, RFM scores, grades and profitability, set-based in SQL.

One run (``compute``) works in steps, each a handful of SQL statements over keyset batches of
account ids (``BATCH``), never a Python loop over accounts:

1. **aggregate** — per account: counted orders (``COUNTED_STATUSES``) up to ``as_of`` grouped by
   account (first/last date, count, sums, the median gap between orders from ``LAG`` + ``ROW_NUMBER``
   windows, the last return after a churn-length gap), tickets, complaints, visits/meetings and the
   open pipeline, into the session's temporary table ``an_stats``;
2. **cuts** — the bin edges: quintiles of R, F, M and of the grade dimensions via ``NTILE(5)``, the
   grade-score thresholds for quantile tiers and the profit cut of "valuable" (a full run; an
   incremental run reuses the last full run's cuts, so its results equal a full run with those cuts);
3. **score** — R/F/M, segment, grade, lifecycle stage, profit and label per account into ``an_new``;
4. **history** — ``LifecycleChange``, ``GradeChange`` and ``SegmentSnapshot`` rows where something
   changed;
5. **write** — upsert ``CustomerScore`` (our own table) and update ``Account.lifecycle_stage`` /
   ``Account.grade`` only where they differ, one short statement per batch.

The same SQL runs on PostgreSQL and SQLite; the few dialect differences (date arithmetic, JSON)
are in ``Dialect``. An incremental run computes only accounts with orders, interactions or
tickets changed since the last run's watermark, new accounts, overrides changed, and accounts
whose derived stage changes by the passing of time (``next_change_on``).
"""

import calendar
import math
import re
import resource
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from django.apps import apps
from django.db import connection
from django.utils import timezone

from kehu.core import parallel

from .models import (
    COUNTED_STATUSES,
    AnalyticsRun,
    CustomerScore,
    GradeChange,
    LifecycleChange,
    LifecycleOverride,
    SegmentSnapshot,
)

BATCH = 10_000
# The batch steps run on ``kehu.core.parallel`` worker connections on PostgreSQL (each takes every
# WORKERS-th batch); their work tables are then UNLOGGED tables named after the run (a session's
# temporary tables are invisible to the others).
WORK_TABLES = re.compile(r"\ban_(target|stats|new)\b")
LOCK_KEY = 7007  # advisory lock class of analytics runs (the second key is the workspace id)
RECENT_DAYS = 30
# Columns of a score row that change on every run whether or not the figures did.
SAME_EVERY_RUN = {
    "workspace_id",
    "account_id",
    "run_id",
    "as_of",
    "computed_at",
    "created_at",
    "updated_at",
    "recency_days",
}

# RFM segment of each (R, FM) cell, FM = the average of F and M rounded half up. Rows: R 5 → 1.
SEGMENT_GRID = {
    5: ["new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["lost", "lost", "at_risk", "at_risk", "cant_lose"],
}


def segment_of(r: int | None, f: int | None, m: int | None) -> str:
    """The segment of R, F, M scores (the Python twin of the SQL the engine generates)."""
    if r is None or f is None or m is None:
        return ""
    return SEGMENT_GRID[r][fm_of(f, m) - 1]


def fm_of(f: int, m: int) -> int:
    return (f + m + 1) // 2


def bin_of(value: float | None, cuts: list[float], *, reverse: bool = False) -> int:
    """The 1–5 score of ``value`` against 4 ascending upper edges (``reverse`` for recency)."""
    score = 1 + sum(1 for cut in cuts if value is not None and value > cut)
    return 6 - score if reverse else score


def months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class Dialect:
    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"

    def date(self, param: str) -> str:
        return f"CAST(%({param})s AS date)" if self.pg else f"%({param})s"

    def days(self, a: str, b: str) -> str:
        """Whole days from ``b`` to ``a`` (two date expressions)."""
        return f"({a} - {b})" if self.pg else f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"

    def add_days(self, day: str, n: str) -> str:
        return f"({day} + CAST({n} AS integer))" if self.pg else f"date({day}, '+' || ({n}) || ' days')"

    def floor(self, x: str) -> str:
        return f"CAST(FLOOR({x}) AS integer)" if self.pg else f"CAST({x} AS INTEGER)"

    def json(self, pairs: dict[str, str]) -> str:
        inner = ", ".join(f"'{k}', {v}" for k, v in pairs.items())
        return f"CAST(json_build_object({inner}) AS jsonb)" if self.pg else f"json_object({inner})"

    def ts(self, moment: datetime) -> str:
        if self.pg:
            return moment.isoformat()
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _lit(value) -> str:
    """A number as an SQL literal (settings and cuts are numbers we computed or validated)."""
    return repr(float(value))


def _table(app_label: str, model: str) -> str | None:
    try:
        return apps.get_model(app_label, model)._meta.db_table
    except LookupError:
        return None


class Timer:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._start = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.steps[name] = round(self.steps.get(name, 0) + now - self._start, 3)
        self._start = now


def peak_memory_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- settings snapshot ----------------------------------------------------------------------------


def config_of(workspace) -> dict:
    """The settings a run computes with, as JSON (kept on the run: "computed from what")."""
    from .services import lifecycle_settings, value_settings

    life, value = lifecycle_settings(workspace), value_settings(workspace)
    return {
        "statuses": list(COUNTED_STATUSES),
        "new_customer_days": life.new_customer_days,
        "at_risk_factor": float(life.at_risk_factor),
        "at_risk_floor_days": life.at_risk_floor_days,
        "at_risk_ceiling_days": life.at_risk_ceiling_days,
        "default_interval_days": life.default_interval_days,
        "churn_days": life.churn_days,
        "value_months": value.value_months,
        "rfm_method": value.rfm_method,
        "rfm_bins": value.rfm_bins,
        "grade_method": value.grade_method,
        "tiers": value.tiers,
        "weights": value.weights,
        "potential_source": value.potential_source,
        "loyalty_source": value.loyalty_source,
        "cost_per_ticket": float(value.cost_per_ticket),
        "cost_per_complaint": float(value.cost_per_complaint),
        "cost_per_visit": float(value.cost_per_visit),
        "valuable_share": value.valuable_share,
        "growth_pct": value.growth_pct,
    }


def _cuts_config(config: dict) -> dict:
    """The part of the settings the cuts depend on: when it changes, an incremental run is a full one."""
    keys = ("statuses", "value_months", "rfm_method", "rfm_bins", "grade_method", "tiers", "weights")
    return {k: config[k] for k in keys} | {"sources": [config["potential_source"], config["loyalty_source"]]}


# --- the run ---------------------------------------------------------------------------------------


def compute(
    workspace,
    kind: str = "full",
    *,
    as_of: date | None = None,
    refresh_cuts: bool = True,
) -> AnalyticsRun:
    """Recompute the workspace's scores (``kind`` "full" or "incremental") as of ``as_of``.

    ``refresh_cuts=False`` makes a full run score with the last full run's cuts (what an incremental
    run does; the equality tests compare the two).
    """
    as_of = as_of or timezone.localdate()
    started = timezone.now()
    config = config_of(workspace)
    last_full = AnalyticsRun.objects.filter(kind="full", status="done").order_by("-started_at", "-pk").first()
    last_any = AnalyticsRun.objects.filter(status="done").order_by("-started_at", "-pk").first()
    if kind == "incremental" and (
        last_full is None or last_any is None or _cuts_config(last_full.config) != _cuts_config(config)
    ):
        kind = "full"  # nothing to increment from, or the cuts' settings changed
    run = AnalyticsRun.objects.create(
        workspace=workspace,
        kind=kind,
        as_of=as_of,
        started_at=started,
        watermark=started,
        config=config,
    )
    try:
        with _one_run_at_a_time(workspace):
            _Run(workspace, run, config, as_of, last_full, last_any, refresh_cuts).go()
    except Exception as error:
        run.status, run.error, run.finished_at = "failed", repr(error)[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    return run


@contextmanager
def _one_run_at_a_time(workspace):
    """A second run of the same workspace (the scheduler's and a "Recompute now") waits for the first:
    a session advisory lock on PostgreSQL; SQLite runs one writer at a time anyway."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_KEY, workspace.pk])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_KEY, workspace.pk])


class _Run:
    def __init__(self, workspace, run, config, as_of, last_full, last_any, refresh_cuts):
        self.ws = workspace.pk
        self.run = run
        self.c = config
        self.as_of = as_of
        self.last_full = last_full
        self.last_any = last_any
        self.full = run.kind == "full"
        self.refresh = self.full and (refresh_cuts or last_full is None)
        self.suffix = ""  # the work tables' name suffix when they are shared by worker connections
        self.d = Dialect()
        self.timer = Timer()
        window_start = months_before(as_of, config["value_months"])
        middle = window_start + timedelta(days=(as_of - window_start).days // 2)
        now = run.started_at
        self.p = {
            "ws": self.ws,
            "asof": as_of.isoformat(),
            "wstart": window_start.isoformat(),
            "wmid": middle.isoformat(),
            "ts_start": self.d.ts(
                datetime.combine(window_start + timedelta(days=1), datetime.min.time(), UTC)
            ),
            "ts_end": self.d.ts(datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)),
            "now": self.d.ts(now),
            "run": run.pk,
        }
        if last_any is not None:
            self.p["wm"] = self.d.ts(last_any.watermark)

    def sql(self, cursor, statement: str, extra: dict | None = None) -> None:
        if self.suffix:
            statement = WORK_TABLES.sub(lambda m: m.group(0) + self.suffix, statement)
        cursor.execute(statement, {**self.p, **(extra or {})})

    def each_batch(self, step, items: list[tuple], *args) -> list:
        """``step(cursor, *item, *args)`` for every item (a batch's ``(lo, hi)``, a quintile query),
        results in item order: on worker connections when the run's work tables are shared
        (``self.suffix``), else one after another on this connection."""
        if not self.suffix or len(items) < 2:
            return [step(self.cur, *item, *args) for item in items]
        return parallel.on_workers(lambda cur, item: step(cur, *item, *args), items)

    # -- orchestration --

    def go(self) -> None:
        # Workers see only committed rows: inside a transaction (a test's) the steps stay on this one.
        self.suffix = f"_run{self.run.pk}" if parallel.can_use_workers() else ""
        with connection.cursor() as cur:
            self.cur = cur
            try:
                self._steps(cur)
            finally:
                if self.suffix:
                    self.drop_temp_tables()

    def _steps(self, cur) -> None:
        self.sql(cur, "SELECT MAX(id) FROM commerce_order WHERE workspace_id = %(ws)s")
        max_order = cur.fetchone()[0] or 0
        self.create_temp_tables()
        batches = self.batches()
        self.timer.lap("select")
        self.each_batch(self.aggregate, batches)
        self.analyze("an_stats")
        self.timer.lap("aggregate")
        cuts = self.cuts() if self.refresh else dict(self.last_full.cuts)
        self.timer.lap("cuts")
        self.each_batch(self.score, batches, cuts)
        self.analyze("an_new")
        self.timer.lap("score")
        self.each_batch(self.history, batches)
        self.timer.lap("history")
        changed = sum(self.each_batch(self.write, batches))
        self.timer.lap("write")
        self.sql(cur, "SELECT COUNT(*) FROM an_new")
        count = cur.fetchone()[0]
        self.drop_temp_tables()
        run = self.run
        run.status, run.finished_at, run.cuts, run.accounts = "done", timezone.now(), cuts, count
        run.stats = {
            "seconds": self.timer.steps,
            "total_seconds": round(sum(self.timer.steps.values()), 3),
            "accounts": count,
            "accounts_changed": changed,
            "peak_memory_mb": peak_memory_mb(),
            "max_order_id": max_order,
        }
        run.save(update_fields=["status", "finished_at", "cuts", "accounts", "stats"])

    def create_temp_tables(self) -> None:
        cur = self.cur
        self.drop_temp_tables()
        money = "numeric(18, 2)" if self.d.pg else "numeric"
        # Shared by the worker connections: UNLOGGED (no WAL; the run recomputes them if it fails).
        kind = "UNLOGGED" if self.suffix else "TEMPORARY"
        self.sql(cur, f"CREATE {kind} TABLE an_target (account_id bigint PRIMARY KEY)")
        self.sql(
            cur,
            f"CREATE {kind} TABLE an_stats (account_id bigint PRIMARY KEY, first_order date, "
            f"last_order date, orders integer, revenue {money}, cost {money}, revenue_w {money}, "
            f"cost_w {money}, disc_w {money}, rev_h1 {money}, rev_h2 {money}, last_return date, "
            f"median_gap double precision, tickets integer, complaints integer, visits integer, "
            f"potential {money})",
        )
        self.sql(
            cur,
            f"CREATE {kind} TABLE an_new (account_id bigint PRIMARY KEY, first_order date, "
            f"last_order date, last_return date, median_gap double precision, orders integer, "
            f"revenue {money}, hist_margin {money}, revenue_w {money}, margin {money}, disc_w {money}, "
            "tickets integer, complaints integer, visits integer, cost_to_serve numeric, profit numeric, "
            f"value_label varchar(12), potential {money}, recency integer, r smallint, f smallint, "
            "m smallint, fm smallint, segment varchar(20), grade_score double precision, "
            "grade varchar(30), derived_stage varchar(20), stage varchar(20), manual integer, "
            "next_change_on date, inputs text)",
        )

    def analyze(self, table: str) -> None:
        """Statistics of a work table (autovacuum never analyzes temporary tables on PostgreSQL)."""
        self.sql(self.cur, f"ANALYZE {table}")

    def drop_temp_tables(self) -> None:
        for table in ("an_target", "an_stats", "an_new"):
            self.sql(self.cur, f"DROP TABLE IF EXISTS {table}")

    def batches(self) -> list[tuple[int, int]]:
        """(lo, hi] account-id ranges of at most BATCH target accounts, read by keyset."""
        cur = self.cur
        account = "customers_account"
        if self.full:
            source, where = account, "workspace_id = %(ws)s"
            column = "id"
        else:
            self.fill_targets()
            source, where, column = "an_target", "1 = 1", "account_id"
        out, lo = [], 0
        while True:
            self.sql(
                cur,
                f"SELECT MAX({column}), COUNT(*) FROM (SELECT {column} FROM {source} WHERE {where} "
                f"AND {column} > %(lo)s ORDER BY {column} LIMIT {BATCH}) AS page",
                {"lo": lo},
            )
            hi, count = cur.fetchone()
            if not count:
                return out
            out.append((lo, hi))
            lo = hi

    def fill_targets(self) -> None:
        """The accounts an incremental run recomputes (see the module docstring).

        Each part reads an index: new orders by id (above the last run's highest), edited orders by
        ``updated_at``, edits of other records dated in the last ``RECENT_DAYS`` before the watermark
        by their date index (older edits, rare, wait for the nightly full run), due stage changes by
        ``next_change_on``, new accounts by ``created_at``. A cleared override sets the derived stage
        at once (``services``).
        """
        d, wm = self.d, "%(wm)s"
        scores, overrides = CustomerScore._meta.db_table, LifecycleOverride._meta.db_table
        parts = [
            "SELECT account_id FROM commerce_order WHERE workspace_id = %(ws)s AND id > %(max_order)s",
            # Any edit of an order, by the (workspace, updated_at) index (commerce migration 0005).
            f"SELECT account_id FROM commerce_order WHERE workspace_id = %(ws)s AND updated_at > {wm}",
            "SELECT l.object_id AS account_id FROM activities_activity a "
            "JOIN activities_activitylink l ON l.activity_id = a.id AND l.object_type = 'customers.account' "
            f"WHERE a.workspace_id = %(ws)s AND a.occurred_at >= %(recent_ts)s AND a.updated_at > {wm}",
            "SELECT account_id FROM commerce_feedback WHERE workspace_id = %(ws)s "
            f"AND received_at >= %(recent_ts)s AND updated_at > {wm}",
            f"SELECT account_id FROM {overrides} WHERE workspace_id = %(ws)s AND updated_at > {wm}",
            # The derived stage changes by the passing of time alone.
            f"SELECT account_id FROM {scores} WHERE workspace_id = %(ws)s AND next_change_on <= "
            f"{d.date('asof')}",
            "SELECT id AS account_id FROM customers_account WHERE workspace_id = %(ws)s "
            f"AND created_at > {wm}",
        ]
        tickets = _table("tickets", "Ticket")
        if tickets:
            parts.append(
                f"SELECT account_id FROM {tickets} WHERE workspace_id = %(ws)s AND account_id IS NOT NULL "
                f"AND created_at >= %(recent_ts)s AND updated_at > {wm}"
            )
        opportunities = _table("deals", "Opportunity")
        if opportunities and self.c["potential_source"] == "pipeline":
            parts.append(
                f"SELECT account_id FROM {opportunities} WHERE workspace_id = %(ws)s AND updated_at > {wm}"
            )
        # Dated RECENT_DAYS before the watermark (or before "as of", when computing for a past date).
        start = min(self.last_any.watermark, datetime.combine(self.as_of, datetime.min.time(), UTC))
        recent = start - timedelta(days=RECENT_DAYS)
        self.sql(
            self.cur,
            "INSERT INTO an_target (account_id) SELECT DISTINCT account_id FROM ("
            + " UNION ".join(parts)
            + ") AS t WHERE account_id IS NOT NULL",
            {
                "max_order": (self.last_any.stats or {}).get("max_order_id", 0),
                "recent_ts": self.d.ts(recent),
            },
        )

    # -- step 1 --

    def aggregate(self, cur, lo: int, hi: int) -> None:
        d, c = self.d, self.c
        statuses = ", ".join(f"'{s}'" for s in c["statuses"])
        target = "" if self.full else " AND {col} IN (SELECT account_id FROM an_target)"
        rng = " AND {col} > %(lo)s AND {col} <= %(hi)s" + target
        # Ties (two orders on one day) give a gap of 0 in either order: no ``id`` tie-break, so the
        # (workspace, account, order_date) index delivers the rows in window order, unsorted.
        gap = d.days("order_date", "LAG(order_date) OVER (PARTITION BY account_id ORDER BY order_date)")
        joins, columns = [], []
        tickets = _table("tickets", "Ticket")
        if tickets:
            joins.append(
                "LEFT JOIN (SELECT account_id, COUNT(*) AS n, "
                "SUM(CASE WHEN type = 'complaint' THEN 1 ELSE 0 END) AS complaints "
                f"FROM {tickets} WHERE workspace_id = %(ws)s AND created_at >= %(ts_start)s "
                "AND created_at < %(ts_end)s" + rng.format(col="account_id") + " GROUP BY account_id) AS tk "
                "ON tk.account_id = a.id"
            )
            columns += ["COALESCE(tk.n, 0)", "COALESCE(tk.complaints, 0) + COALESCE(fb.n, 0)"]
        else:
            columns += ["0", "COALESCE(fb.n, 0)"]
        joins.append(
            "LEFT JOIN (SELECT account_id, COUNT(*) AS n FROM commerce_feedback WHERE workspace_id = %(ws)s "
            "AND kind = 'complaint' AND received_at >= %(ts_start)s AND received_at < %(ts_end)s"
            + rng.format(col="account_id")
            + " GROUP BY account_id) AS fb ON fb.account_id = a.id"
        )
        joins.append(
            "LEFT JOIN (SELECT object_id, COUNT(*) AS n FROM activities_activitylink WHERE workspace_id = "
            "%(ws)s "
            "AND object_type = 'customers.account' AND kind IN ('visit', 'meeting') "
            "AND occurred_at >= %(ts_start)s AND occurred_at < %(ts_end)s"
            + rng.format(col="object_id")
            + " GROUP BY object_id) AS vi ON vi.object_id = a.id"
        )
        columns.append("COALESCE(vi.n, 0)")
        opportunities = _table("deals", "Opportunity")
        if c["potential_source"] == "size":
            sizes = ["1-9", "10-49", "50-249", "250-999", "1000+"]
            columns.append(
                "CASE a.size "
                + " ".join(f"WHEN '{s}' THEN {i + 1}" for i, s in enumerate(sizes))
                + " ELSE 0 END"
            )
        elif opportunities:
            joins.append(
                f"LEFT JOIN (SELECT account_id, SUM(base_amount) AS amount FROM {opportunities} "
                "WHERE workspace_id = %(ws)s AND status = 'open'"
                + rng.format(col="account_id")
                + " GROUP BY account_id) AS op ON op.account_id = a.id"
            )
            columns.append("COALESCE(op.amount, 0)")
        else:
            columns.append("0")
        if d.pg:
            median_ctes, median_join, median_value = "", "", "agg.median_gap"
            median_column = ", percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap"
        else:
            # The middle one or two gaps by ROW_NUMBER, averaged.
            median_ctes = """), g AS (
                SELECT account_id, gap, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY gap) AS rn,
                       COUNT(*) OVER (PARTITION BY account_id) AS cnt
                FROM o WHERE gap IS NOT NULL
            ), med AS (
                SELECT account_id, AVG(gap) AS median_gap FROM g
                WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2 GROUP BY account_id
            """
            median_join, median_value = "LEFT JOIN med ON med.account_id = a.id", "med.median_gap"
            median_column = ""
        statement = f"""
            INSERT INTO an_stats (account_id, first_order, last_order, orders, revenue, cost, revenue_w,
                cost_w, disc_w, rev_h1, rev_h2, last_return, median_gap, tickets, complaints, visits,
                potential)
            WITH o AS (
                SELECT account_id, order_date, base_total_amount AS amount, base_total_cost AS cost,
                       discount * exchange_rate AS disc, {gap} AS gap
                FROM commerce_order
                WHERE workspace_id = %(ws)s AND status IN ({statuses}) AND order_date <= {d.date("asof")}
                {rng.format(col="account_id")}
            {median_ctes}), agg AS (
                SELECT account_id, MIN(order_date) AS first_order, MAX(order_date) AS last_order,
                       COUNT(*) AS orders, SUM(amount) AS revenue, SUM(cost) AS cost,
                       SUM(amount) FILTER (WHERE order_date > {d.date("wstart")}) AS revenue_w,
                       SUM(cost) FILTER (WHERE order_date > {d.date("wstart")}) AS cost_w,
                       SUM(disc) FILTER (WHERE order_date > {d.date("wstart")}) AS disc_w,
                       SUM(amount) FILTER (WHERE order_date > {d.date("wstart")}
                           AND order_date <= {d.date("wmid")}) AS rev_h1,
                       SUM(amount) FILTER (WHERE order_date > {d.date("wmid")}) AS rev_h2,
                       MAX(order_date) FILTER (WHERE gap >= {int(c["churn_days"])}) AS last_return
                       {median_column}
                FROM o GROUP BY account_id
            )
            SELECT a.id, agg.first_order, agg.last_order, COALESCE(agg.orders, 0), COALESCE(agg.revenue, 0),
                   COALESCE(agg.cost, 0), COALESCE(agg.revenue_w, 0), COALESCE(agg.cost_w, 0),
                   COALESCE(agg.disc_w, 0), COALESCE(agg.rev_h1, 0), COALESCE(agg.rev_h2, 0),
                   agg.last_return, {median_value}, {", ".join(columns)}
            FROM customers_account a
            LEFT JOIN agg ON agg.account_id = a.id
            {median_join}
            {" ".join(joins)}
            WHERE a.workspace_id = %(ws)s {rng.format(col="a.id")}
        """
        self.sql(cur, statement, {"lo": lo, "hi": hi})

    # -- step 2 --

    def expressions(self) -> dict[str, str]:
        """SQL of the raw values over ``an_stats s`` that are binned."""
        d, c = self.d, self.c
        loyalty = d.days(d.date("asof"), "s.first_order") if c["loyalty_source"] == "tenure" else "s.orders"
        return {
            "recency": d.days(d.date("asof"), "s.last_order"),
            "frequency": "s.orders",
            "monetary": "s.revenue",
            "value": "s.revenue_w",
            "potential": "s.potential",
            "loyalty": f"COALESCE({loyalty}, 0)",
            "margin": "(s.revenue_w - s.cost_w)",
            "profit": self.profit_sql(),
        }

    def profit_sql(self) -> str:
        c = self.c
        serve = (
            f"(s.tickets * {_lit(c['cost_per_ticket'])} + s.complaints * {_lit(c['cost_per_complaint'])}"
            f" + s.visits * {_lit(c['cost_per_visit'])})"
        )
        # Revenue is net of discounts; list-price margin minus (service + discounts) is the same profit.
        return f"(s.revenue_w - s.cost_w - {serve})"

    def tiles(self, cur, expr: str, where: str) -> list[float]:
        self.sql(
            cur,
            f"SELECT t, MAX(v) FROM (SELECT {expr} AS v, NTILE(5) OVER (ORDER BY {expr}) AS t "
            f"FROM an_stats s WHERE {where}) AS x GROUP BY t ORDER BY t",
        )
        tops = [float(v) for _t, v in cur.fetchall()]
        if not tops:
            return [0.0] * 4
        return (tops + [tops[-1]] * 4)[:4]

    def cuts(self) -> dict:
        c, e = self.c, self.expressions()
        cuts: dict = {}
        customers = "s.orders > 0"
        if c["rfm_method"] == "bins":
            bins = c["rfm_bins"]
            cuts["r"], cuts["f"], cuts["m"] = (
                [float(x) for x in bins["r"]],
                [float(x) for x in bins["f"]],
                [float(x) for x in bins["m"]],
            )
        # Quintiles: one sort of the run's accounts each, the independent ones side by side.
        queries: dict[tuple, tuple[str, str]] = {}
        if c["rfm_method"] != "bins":
            queries |= {
                ("r",): (e["recency"], customers),
                ("f",): (e["frequency"], customers),
                ("m",): (e["monetary"], customers),
            }
        for dim in ("value", "potential", "loyalty", "margin"):
            if float(c["weights"].get(dim) or 0) > 0:
                queries[("dims", dim)] = (e[dim], f"{e[dim]} > 0")
        tops = dict(zip(queries, self.each_batch(self.tiles, list(queries.values())), strict=True))
        if c["rfm_method"] != "bins":
            cuts["r"], cuts["f"], cuts["m"] = tops[("r",)], tops[("f",)], tops[("m",)]
        cuts["dims"] = {key[1]: value for key, value in tops.items() if key[0] == "dims"}
        cuts["grade"] = self.grade_thresholds(cuts)
        # "valuable": the top valuable_share % (rounded up) of the accounts with a positive profit.
        self.sql(self.cur, f"SELECT COUNT(*) FROM an_stats s WHERE {e['profit']} > 0")
        positive = self.cur.fetchone()[0]
        cuts["valuable"] = None
        if positive:
            rank = max(1, math.ceil(positive * int(c["valuable_share"]) / 100))
            self.sql(
                self.cur,
                f"SELECT {e['profit']} FROM an_stats s WHERE {e['profit']} > 0 "
                f"ORDER BY {e['profit']} DESC LIMIT 1 OFFSET {rank - 1}",
            )
            cuts["valuable"] = float(self.cur.fetchone()[0])
        return cuts

    def grade_score_sql(self, cuts: dict) -> str:
        weights = {k: float(v or 0) for k, v in self.c["weights"].items() if float(v or 0) > 0}
        e = self.expressions()
        if not weights:
            return "1.0"
        total = sum(weights.values())
        terms = " + ".join(
            f"{_lit(w)} * {self.bin_sql(e[dim], cuts['dims'].get(dim, [0.0] * 4))}"
            for dim, w in weights.items()
        )
        return f"ROUND(CAST(({terms}) / {_lit(total)} AS numeric), 2)"

    def grade_thresholds(self, cuts: dict) -> list[float]:
        """Minimum grade score of each tier but the last (highest tier first)."""
        tiers = self.c["tiers"]
        if self.c["grade_method"] == "thresholds":
            return [float(t.get("min_score") or 0) for t in tiers[:-1]]
        self.sql(
            self.cur,
            f"SELECT v, COUNT(*) FROM (SELECT {self.grade_score_sql(cuts)} AS v FROM an_stats s) AS x "
            "GROUP BY v ORDER BY v DESC",
        )
        groups = [(float(v), n) for v, n in self.cur.fetchall()]
        total = sum(n for _v, n in groups)
        out, share = [], 0.0
        for tier in tiers[:-1]:
            share += float(tier.get("share") or 0)
            target = total * share / 100
            seen, threshold = 0, float("inf")
            for value, n in groups:
                if seen >= target:
                    break
                seen += n
                threshold = value
            out.append(threshold if threshold != float("inf") else 1e9)
        return out

    @staticmethod
    def bin_sql(expr: str, cuts: list[float], reverse: bool = False) -> str:
        above = " + ".join(f"CASE WHEN {expr} > {_lit(cut)} THEN 1 ELSE 0 END" for cut in cuts)
        return f"(5 - ({above}))" if reverse else f"(1 + {above})"

    # -- step 3 --

    def score(self, cur, lo: int, hi: int, cuts: dict) -> None:
        d, c, e = self.d, self.c, self.expressions()
        gap = f"COALESCE(s.median_gap, {_lit(c['default_interval_days'])})"
        raw = f"({_lit(c['at_risk_factor'])} * {gap})"
        floor_, ceiling = _lit(c["at_risk_floor_days"]), _lit(c["at_risk_ceiling_days"])
        threshold = (
            f"(CASE WHEN {raw} < {floor_} THEN {floor_} WHEN {raw} > {ceiling} THEN {ceiling} ELSE {raw} END)"
        )
        since_last = d.days(d.date("asof"), "s.last_order")
        since_first = d.days(d.date("asof"), "s.first_order")
        since_return = d.days(d.date("asof"), "s.last_return")
        new_days, churn = int(c["new_customer_days"]), int(c["churn_days"])
        stage = f"""CASE WHEN s.orders = 0 THEN 'prospect'
            WHEN {since_last} >= {churn} THEN 'churned'
            WHEN {since_last} > {threshold} THEN 'at_risk'
            WHEN s.last_return IS NOT NULL AND {since_return} < {new_days} THEN 'won_back'
            WHEN {since_first} < {new_days} THEN 'new'
            ELSE 'active' END"""
        # Days until the derived stage changes by itself: the end of the new/won-back window, the day
        # "at risk" starts, the day "churned" starts — the smallest still ahead.
        offsets = [
            f"{new_days} - {since_first}",
            f"{new_days} - {since_return}",
            f"{d.floor(threshold)} + 1 - {since_last}",
            f"{churn} - {since_last}",
        ]
        if d.pg:
            ahead = "LEAST(" + ", ".join(f"CASE WHEN ({o}) > 0 THEN ({o}) END" for o in offsets) + ")"
        else:
            values = ", ".join(f"({o})" for o in offsets)
            ahead = f"(SELECT MIN(column1) FROM (VALUES {values}) AS v WHERE column1 > 0)"
        serve = (
            f"(s.tickets * {_lit(c['cost_per_ticket'])} + s.complaints * {_lit(c['cost_per_complaint'])}"
            f" + s.visits * {_lit(c['cost_per_visit'])} + s.disc_w)"
        )
        r = self.bin_sql(e["recency"], cuts["r"], reverse=True)
        f = self.bin_sql(e["frequency"], cuts["f"])
        m = self.bin_sql(e["monetary"], cuts["m"])
        dims = {dim: self.bin_sql(e[dim], cuts["dims"].get(dim, [0.0] * 4)) for dim in cuts["dims"]}
        tiers = c["tiers"]
        grade = (
            "CASE "
            + " ".join(
                f"WHEN x.grade_score >= {_lit(t)} THEN '{tier['key']}'"
                for t, tier in zip(cuts["grade"], tiers, strict=False)
            )
            + f" ELSE '{tiers[-1]['key']}' END"
        )
        segment = (
            "CASE x.r * 10 + (x.f + x.m + 1) / 2 "
            + " ".join(
                f"WHEN {rr * 10 + fm + 1} THEN '{name}'"
                for rr, row in SEGMENT_GRID.items()
                for fm, name in enumerate(row)
            )
            + " ELSE '' END"
        )
        valuable = _lit(cuts["valuable"]) if cuts.get("valuable") is not None else "1e30"
        growth = _lit(1 + c["growth_pct"] / 100)
        label = f"""CASE WHEN x.profit < 0 THEN 'unprofitable'
            WHEN x.profit > 0 AND x.profit >= {valuable} THEN 'valuable'
            WHEN x.rev_h1 > 0 AND x.rev_h2 >= x.rev_h1 * {growth} THEN 'growing'
            ELSE '' END"""
        inputs = d.json(
            {"threshold_days": "ROUND(CAST(x.threshold AS numeric), 1)"}
            | {f"dim_{dim}": f"x.dim_{dim}" for dim in dims}
        )
        target = "" if self.full else " AND s.account_id IN (SELECT account_id FROM an_target)"
        # Keeps the planner from inlining x's columns into the outer expressions (each would be
        # evaluated again wherever it is used: the grade score three times, the profit four).
        fence = "OFFSET 0" if d.pg else "LIMIT -1 OFFSET 0"
        dim_columns = "".join(f", {sql} AS dim_{dim}" for dim, sql in dims.items())
        statement = f"""
            INSERT INTO an_new (account_id, first_order, last_order, last_return, median_gap, orders, revenue,
                hist_margin, revenue_w, margin, disc_w, tickets, complaints, visits, cost_to_serve, profit,
                value_label, potential, recency, r, f, m, fm, segment, grade_score, grade, derived_stage,
                stage, manual, next_change_on, inputs)
            SELECT x.account_id, x.first_order, x.last_order, x.last_return, x.median_gap, x.orders,
                x.revenue,
                x.revenue - x.cost, x.revenue_w, x.revenue_w - x.cost_w, x.disc_w, x.tickets, x.complaints,
                x.visits, x.serve, x.profit, {label}, x.potential, x.recency, x.r, x.f, x.m,
                (x.f + x.m + 1) / 2,
                CASE WHEN x.r IS NULL THEN '' ELSE {segment} END, x.grade_score, {grade}, x.stage,
                COALESCE(x.override, x.stage), CASE WHEN x.override IS NULL THEN 0 ELSE 1 END,
                CASE WHEN x.ahead IS NULL THEN NULL ELSE {d.add_days(d.date("asof"), "x.ahead")} END,
                {inputs}
            FROM (
                SELECT s.*, {e["recency"]} AS recency, {stage} AS stage, {threshold} AS threshold,
                    {ahead} AS ahead, ov.stage AS override, {serve} AS serve, {e["profit"]} AS profit,
                    CASE WHEN s.orders > 0 THEN {r} END AS r, CASE WHEN s.orders > 0 THEN {f} END AS f,
                    CASE WHEN s.orders > 0 THEN {m} END AS m,
                    {self.grade_score_sql(cuts)} AS grade_score{dim_columns}
                FROM an_stats s
                LEFT JOIN {LifecycleOverride._meta.db_table} ov ON ov.workspace_id = %(ws)s
                    AND ov.account_id = s.account_id
                WHERE s.account_id > %(lo)s AND s.account_id <= %(hi)s{target}
                {fence}
            ) AS x
        """
        self.sql(cur, statement, {"lo": lo, "hi": hi})

    # -- step 4 --

    def history(self, cur, lo: int, hi: int) -> None:
        rng = "n.account_id > %(lo)s AND n.account_id <= %(hi)s"
        on_account = "a.id = n.account_id AND a.id > %(lo)s AND a.id <= %(hi)s"
        extra = {"lo": lo, "hi": hi}
        self.sql(
            cur,
            f"INSERT INTO {LifecycleChange._meta.db_table} (workspace_id, account_id, from_stage, to_stage, "
            "at, "
            "as_of, reason, manual, created_at, updated_at) "
            "SELECT %(ws)s, n.account_id, a.lifecycle_stage, n.stage, %(now)s, %(asof)s, '', "
            f"{'false' if self.d.pg else '0'}, %(now)s, %(now)s "
            f"FROM an_new n JOIN customers_account a ON {on_account} WHERE {rng} "
            "AND a.lifecycle_stage <> n.stage",
            extra,
        )
        self.sql(
            cur,
            f"INSERT INTO {GradeChange._meta.db_table} (workspace_id, account_id, from_grade, to_grade, "
            "score, at, "
            "created_at, updated_at) SELECT %(ws)s, n.account_id, a.grade, n.grade, n.grade_score, %(now)s, "
            "%(now)s, %(now)s "
            f"FROM an_new n JOIN customers_account a ON {on_account} WHERE {rng} AND a.grade <> n.grade",
            extra,
        )
        self.sql(
            cur,
            f"INSERT INTO {SegmentSnapshot._meta.db_table} (workspace_id, account_id, date, r, f, m, "
            "segment, "
            "created_at, updated_at) SELECT %(ws)s, n.account_id, %(asof)s, n.r, n.f, n.m, n.segment, "
            "%(now)s, "
            f"%(now)s FROM an_new n LEFT JOIN {CustomerScore._meta.db_table} s ON s.account_id = "
            "n.account_id "
            "AND s.workspace_id = %(ws)s AND s.account_id > %(lo)s AND s.account_id <= %(hi)s "
            f"WHERE {rng} AND ((s.id IS NULL AND n.segment <> '') OR (s.id IS NOT NULL AND "
            "(s.segment <> n.segment OR COALESCE(s.r, 0) <> COALESCE(n.r, 0) OR COALESCE(s.f, 0) <> "
            "COALESCE(n.f, 0)"
            " OR COALESCE(s.m, 0) <> COALESCE(n.m, 0)))) AND true "
            "ON CONFLICT (workspace_id, account_id, date) DO UPDATE SET r = excluded.r, f = excluded.f, "
            "m = excluded.m, "
            "segment = excluded.segment, updated_at = excluded.updated_at",
            extra,
        )

    # -- step 5 --

    def write(self, cur, lo: int, hi: int) -> int:
        columns = {
            "workspace_id": "%(ws)s",
            "account_id": "n.account_id",
            "run_id": "%(run)s",
            "as_of": "%(asof)s",
            "computed_at": "%(now)s",
            "created_at": "%(now)s",
            "updated_at": "%(now)s",
            "first_order_date": "n.first_order",
            "last_order_date": "n.last_order",
            "last_return_date": "n.last_return",
            "median_interval_days": "n.median_gap",
            "orders": "n.orders",
            "historical_value": "n.revenue",
            "historical_margin": "n.hist_margin",
            "revenue_window": "n.revenue_w",
            "margin": "n.margin",
            "discounts": "n.disc_w",
            "tickets": "n.tickets",
            "complaints": "n.complaints",
            "visits": "n.visits",
            "cost_to_serve": "n.cost_to_serve",
            "profit": "n.profit",
            "value_label": "n.value_label",
            "potential": "n.potential",
            "recency_days": "n.recency",
            "r": "n.r",
            "f": "n.f",
            "m": "n.m",
            "fm": "n.fm",
            "segment": "n.segment",
            "grade_score": "n.grade_score",
            "grade": "n.grade",
            "derived_stage": "n.derived_stage",
            "next_change_on": "n.next_change_on",
            "inputs": "CAST(n.inputs AS jsonb)" if self.d.pg else "n.inputs",
        }
        update = ", ".join(
            f"{k} = excluded.{k}" for k in columns if k not in ("workspace_id", "account_id", "created_at")
        )
        # A row whose figures did not change is not rewritten (most rows, night after night): its
        # computed_at stays, and readers take the later of it and the last full run (panels.py). The
        # days since the last order grow by themselves; they count as a change only with the rest.
        table = CustomerScore._meta.db_table
        compared = [k for k in columns if k not in SAME_EVERY_RUN]
        if self.d.pg:
            changed = (
                f"({', '.join(f'{table}.{k}' for k in compared)}) IS DISTINCT FROM "
                f"({', '.join(f'excluded.{k}' for k in compared)})"
            )
        else:
            changed = "NOT (" + " AND ".join(f"{table}.{k} IS excluded.{k}" for k in compared) + ")"
        extra = {"lo": lo, "hi": hi}
        self.sql(
            cur,
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {', '.join(columns.values())} FROM an_new n "
            "WHERE n.account_id > %(lo)s AND n.account_id <= %(hi)s "
            f"ON CONFLICT (workspace_id, account_id) DO UPDATE SET {update} WHERE {changed}",
            extra,
        )
        # The account row only where the stage or grade differ: a short statement touching few rows.
        self.sql(
            cur,
            "UPDATE customers_account SET lifecycle_stage = n.stage, grade = n.grade FROM an_new n "
            "WHERE customers_account.id = n.account_id AND n.account_id > %(lo)s AND n.account_id <= %(hi)s "
            "AND customers_account.id > %(lo)s AND customers_account.id <= %(hi)s "
            "AND (customers_account.lifecycle_stage <> n.stage OR customers_account.grade <> n.grade)",
            extra,
        )
        return cur.rowcount
