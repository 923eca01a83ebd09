"""Running a report: one grouped SQL query over the records the actor may see.

The query is the object type's list queryset (``ListConfig.queryset``: record permissions applied,
so two members can see different numbers), the report's filters compiled by ``kehu.listviews``
(the one filter language of the project), an optional date range on the report's date field, then
``GROUP BY`` up to two dimensions with count/sum/avg/min/max. Date buckets are ``Trunc`` in the
workspace's time zone; foreign keys bring their display name in the same query (a join); custom
fields are read from the JSON column and cast. Portable between SQLite and PostgreSQL. When a
trigger-kept rollup answers the report exactly (``rollups.plan``: orders per day/status/owner…,
accounts per grade/stage/owner…), the same query runs on the rollup's rows instead of the records.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db import connection, models
from django.db.models import Avg, Count, F, Max, Min, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errors import FieldError, ValidationFailed
from kehu.forecast.periods import workspace_tz
from kehu.listviews.filters import compile_filters, empty_spec
from kehu.listviews.registry import ListConfig, config_for
from kehu.workspaces.access import Actor

from . import rollups
from .fields import BUCKETS, ReportField, report_fields

AGGREGATES = {
    "count": (Count, gettext_lazy("Count")),
    "sum": (Sum, gettext_lazy("Sum")),
    "avg": (Avg, gettext_lazy("Average")),
    "min": (Min, gettext_lazy("Minimum")),
    "max": (Max, gettext_lazy("Maximum")),
}
SORTS = {
    "value_desc": gettext_lazy("Largest first"),
    "value_asc": gettext_lazy("Smallest first"),
    "group": gettext_lazy("By group"),
}
CHARTS = ("bar", "line", "pie", "funnel", "treemap", "table")
MAX_DIMENSIONS = 2
MAX_AGGREGATES = 5
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


# --- the definition ---------------------------------------------------------------------------------


def default_definition(object_type: str = "") -> dict:
    return {
        "filters": empty_spec(),
        "group_by": [],
        "aggregates": [{"fn": "count"}],
        "date_field": "created_at",
        "sort": "",
        "limit": DEFAULT_LIMIT,
    }


def _config(object_type: str, errors: list) -> ListConfig | None:
    config = config_for(object_type) if isinstance(object_type, str) else None
    if config is None or object_type.startswith("reports."):
        errors.append(FieldError("object_type", _("Choose an object type."), "invalid_choice"))
        return None
    return config


def clean_definition(actor: Actor, object_type: str, definition: Any) -> dict:
    """The definition checked against the object type's fields, normalised; ``ValidationFailed`` lists
    every problem with its path (``definition.group_by.0.field``)."""
    errors: list[FieldError] = []
    config = _config(object_type, errors)
    if not isinstance(definition, dict):
        errors.append(FieldError("definition", _("Expected an object."), "invalid"))
        raise ValidationFailed(errors)
    if config is None:
        raise ValidationFailed(errors)
    fields = report_fields(actor, object_type)
    out = default_definition(object_type)
    filters = definition.get("filters") or empty_spec()
    try:
        compile_filters(actor, config, filters, prefix="definition.filters")
    except ValidationFailed as failed:
        errors.extend(failed.details)
    out["filters"] = filters

    group_by = definition.get("group_by") or []
    if not isinstance(group_by, list) or len(group_by) > MAX_DIMENSIONS:
        errors.append(FieldError("definition.group_by", _("Group by at most two fields."), "invalid"))
        group_by = []
    out["group_by"] = []
    for i, item in enumerate(group_by):
        item = item if isinstance(item, dict) else {"field": item}
        f = fields.get(item.get("field"))
        if f is None:
            errors.append(FieldError(f"definition.group_by.{i}.field", _("Unknown field."), "unknown"))
            continue
        bucket = item.get("bucket") or ""
        if f.dated:
            bucket = bucket or "month"
            if bucket not in BUCKETS:
                errors.append(
                    FieldError(
                        f"definition.group_by.{i}.bucket",
                        _("Choose one of: %s.") % ", ".join(BUCKETS),
                        "invalid_choice",
                    )
                )
                continue
        elif bucket:
            errors.append(
                FieldError(
                    f"definition.group_by.{i}.bucket", _("Only dates are grouped by period."), "invalid"
                )
            )
            continue
        out["group_by"].append({"field": f.name, "bucket": bucket} if bucket else {"field": f.name})

    aggregates = definition.get("aggregates") or [{"fn": "count"}]
    if not isinstance(aggregates, list) or len(aggregates) > MAX_AGGREGATES:
        errors.append(FieldError("definition.aggregates", _("At most five values."), "invalid"))
        aggregates = []
    out["aggregates"] = []
    for i, item in enumerate(aggregates):
        item = item if isinstance(item, dict) else {"fn": item}
        fn = item.get("fn")
        if fn not in AGGREGATES:
            errors.append(
                FieldError(
                    f"definition.aggregates.{i}.fn",
                    _("Choose one of: %s.") % ", ".join(AGGREGATES),
                    "invalid_choice",
                )
            )
            continue
        if fn == "count":
            out["aggregates"].append({"fn": "count"})
            continue
        f = fields.get(item.get("field"))
        if f is None or not f.numeric:
            errors.append(
                FieldError(f"definition.aggregates.{i}.field", _("Choose a number field."), "invalid")
            )
            continue
        out["aggregates"].append({"fn": fn, "field": f.name})
    if not out["aggregates"] and not any(e.field.startswith("definition.aggregates") for e in errors):
        out["aggregates"] = [{"fn": "count"}]

    date_field = definition.get("date_field", "created_at" if "created_at" in fields else "")
    if date_field and (date_field not in fields or not fields[date_field].dated):
        errors.append(FieldError("definition.date_field", _("Choose a date field."), "invalid"))
    out["date_field"] = date_field or ""
    sort = definition.get("sort") or ""
    if sort and sort not in SORTS:
        errors.append(
            FieldError("definition.sort", _("Choose one of: %s.") % ", ".join(SORTS), "invalid_choice")
        )
    out["sort"] = sort
    try:
        raw_limit = definition.get("limit")
        limit = DEFAULT_LIMIT if raw_limit in (None, "") else int(raw_limit)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(
            FieldError("definition.limit", _("Enter a number from 1 to %d.") % MAX_LIMIT, "invalid")
        )
    out["limit"] = limit
    if errors:
        raise ValidationFailed(errors)
    return out


# --- the result ---------------------------------------------------------------------------------------


@dataclass
class Row:
    keys: tuple  # raw group values (ids, choice keys, dates)
    labels: tuple[str, ...]
    values: list  # one per aggregate

    @property
    def label(self) -> str:
        return " · ".join(self.labels) if self.labels else str(_("All"))

    @property
    def value(self):
        return self.values[0] if self.values else None

    @property
    def text(self) -> str:
        """The values as plain text (the email's text part): "3 / 1,400"."""
        return " / ".join("—" if v is None else f"{v:,}" for v in self.values)


@dataclass
class Result:
    dimensions: list[str]  # labels of the group-by columns
    measures: list[str]  # labels of the aggregates
    rows: list[Row] = field(default_factory=list)
    dated: list[bool] = field(default_factory=list)  # per dimension: a date bucket
    truncated: bool = False
    computed_at: Any = None  # set when the result is kept in the tile cache

    @property
    def headers(self) -> list[str]:
        return [*self.dimensions, *self.measures]

    def table(self) -> list[list]:
        """Header, then one row per group: labels then values (for exports)."""
        return [self.headers, *[[*r.labels, *r.values] for r in self.rows]]

    def pivot(self) -> dict | None:
        """Two dimensions as a grid: the first down, the second across, the first value in cells."""
        if len(self.dimensions) != 2:
            return None
        across: list = []
        down: dict = {}
        for row in self.rows:
            if row.labels[1] not in across:
                across.append(row.labels[1])
            down.setdefault(row.labels[0], {})[row.labels[1]] = row.value
        if self.dated[1]:
            across.sort()
        return {
            "columns": across,
            "rows": [(label, [cells.get(c) for c in across]) for label, cells in down.items()],
        }


def bucket_label(value: Any, bucket: str) -> str:
    if value is None:
        return str(_("(empty)"))
    if isinstance(value, datetime):
        value = value.date()
    if bucket == "year":
        return f"{value.year}"
    if bucket == "quarter":
        return f"{value.year} Q{(value.month - 1) // 3 + 1}"
    if bucket == "month":
        return f"{value.year}-{value.month:02d}"
    if bucket == "week":
        iso = value.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return value.isoformat()


def _group_expression(f: ReportField, bucket: str, tz):
    expr = f.expression()
    if not bucket:
        return expr
    if f.kind == "datetime":
        return Trunc(expr, bucket, output_field=models.DateField(), tzinfo=tz)
    return Trunc(expr, bucket, output_field=models.DateField())


def _aggregate_expression(spec: dict, fields: dict[str, ReportField]):
    fn = AGGREGATES[spec["fn"]][0]
    if spec["fn"] == "count":
        return Count("*")  # not COUNT(id): an index holding the grouped columns then answers alone
    return fn(fields[spec["field"]].expression())


def measure_label(spec: dict, fields: dict[str, ReportField]) -> str:
    if spec["fn"] == "count":
        return str(_("Count"))
    f = fields.get(spec.get("field", ""))
    return f"{AGGREGATES[spec['fn']][1]} · {f.label if f else spec.get('field')}"


def date_range_filter(queryset, f: ReportField, start: date | None, end: date | None, tz):
    """Records whose ``f`` is in [start, end] (whole days in the workspace's time zone)."""
    queryset = queryset.alias(_report_day=f.expression())
    if f.kind == "datetime":
        if start:
            queryset = queryset.filter(_report_day__gte=datetime.combine(start, time(), tzinfo=tz))
        if end:
            queryset = queryset.filter(
                _report_day__lt=datetime.combine(end + timedelta(days=1), time(), tzinfo=tz)
            )
        return queryset
    if start:
        queryset = queryset.filter(_report_day__gte=start)
    if end:
        queryset = queryset.filter(_report_day__lte=end)
    return queryset


def _plain(value: Any) -> Any:
    """Averages rounded to two places; whole Decimals shown without a fraction."""
    if isinstance(value, float):
        value = Decimal(str(value))
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return value.quantize(Decimal(1)) if value == value.to_integral() else value
    return value


def _custom_user_labels(values: set) -> dict:
    from kehu.workspaces.models import Membership

    ids = [int(v) for v in values if str(v).isdigit()]
    members = Membership.objects.filter(user_id__in=ids).select_related("user")
    return {str(m.user_id): str(m.user) for m in members}


# --- the exact result cache of dashboard tiles ---------------------------------------------------------

CHANGE_LOG = "reports_datachange"  # written by triggers only (migration 0003)
TRACKED = frozenset({"customers_account", "commerce_order", "users_user"})
CACHE_SECONDS = 24 * 3600  # an unchanged result may be reused this long; any write ends it earlier
FOLD_AT = 2000  # log rows per table and workspace before they are folded into one


def _tables_in(sql: str) -> set[str]:
    """The database tables a compiled statement names (its subqueries included)."""
    known = {m._meta.db_table for m in apps.get_models()}
    return {name for name in re.findall(r'"(\w+)"', sql) if name in known}


def data_version(workspace_id: int, tables: set[str]) -> str | None:
    """A key that changes with every committed write to ``tables`` in the workspace, or None when one
    of them is not tracked (the result is then computed every time).

    Per table: the count and the highest id of its change-log rows for the workspace (and the global
    ones). Between folds the visible rows only grow, so any commit changes (count, max id) — even one
    whose id is below a row committed earlier; a fold writes a new row above all earlier ids, so its
    key was never seen before either.
    """
    if not tables or not tables <= TRACKED:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT table_name, COUNT(*), MAX(id) FROM {CHANGE_LOG} "  # noqa: S608 - a constant name
            "WHERE table_name IN (" + ", ".join(["%s"] * len(tables)) + ") "
            "AND (workspace_id = %s OR workspace_id IS NULL) GROUP BY table_name",
            [*sorted(tables), workspace_id],
        )
        rows = sorted(cursor.fetchall())
    if any(count > FOLD_AT for _t, count, _m in rows):
        fold_changes(workspace_id)
    return repr(rows)


def fold_changes(workspace_id: int | None) -> None:
    """Replace a workspace's change-log rows (None: the rows that count for every workspace, e.g. a
    user's new name) by one new row per table. The new row's id is above every earlier one, so the
    folded keys were never seen before; the log stays short."""
    same, params = (
        ("workspace_id = %s", [workspace_id]) if workspace_id is not None else ("workspace_id IS NULL", [])
    )
    with connection.cursor() as cursor:
        for table in sorted(TRACKED):
            cursor.execute(
                f"INSERT INTO {CHANGE_LOG} (workspace_id, table_name) VALUES (%s, %s)",  # noqa: S608
                [workspace_id, table],
            )
            cursor.execute(
                f"DELETE FROM {CHANGE_LOG} WHERE table_name = %s AND {same} "  # noqa: S608
                f"AND id < (SELECT MAX(id) FROM {CHANGE_LOG} WHERE table_name = %s AND {same})",
                [table, *params, table, *params],
            )


def fold_all() -> int:
    """Fold every workspace's log (and the global rows) grown past ``FOLD_AT`` — for the scheduler's
    tick, so workspaces whose dashboards nobody opens do not keep a growing log. How many folded."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return 0  # no log there (migration 0003)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT workspace_id FROM (SELECT workspace_id FROM {CHANGE_LOG} "  # noqa: S608
            "GROUP BY workspace_id, table_name HAVING COUNT(*) > %s) AS big",
            [FOLD_AT],
        )
        groups = [row[0] for row in cursor.fetchall()]
    for workspace_id in groups:
        fold_changes(workspace_id)
    return len(groups)


def _cached_rows(workspace_id: int, queryset, compute, extra=()):
    """``compute()``'s value, reused while no table the query reads has changed (``data_version``).

    The key is the query's SQL and parameters — which already hold the viewer's record scope,
    filters and range, so members who would see different rows never share an entry — plus the
    data version. Returns (value, computed_at); computed_at is None when nothing could be cached.
    """
    sql, params = queryset.query.sql_with_params()
    # A rollup changes in the same statement as its records: the records' log stands for it.
    bases = rollups.base_tables()
    version = data_version(workspace_id, {bases.get(t, t) for t in _tables_in(sql)})
    if version is None:
        return compute(), None
    digest = hashlib.sha256(repr((sql, params, extra, version)).encode()).hexdigest()
    key = f"reports:rows:{workspace_id}:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    value = (compute(), timezone.now())
    cache.set(key, value, CACHE_SECONDS)
    return value


def run(
    actor: Actor,
    object_type: str,
    definition: dict,
    *,
    start: date | None = None,
    end: date | None = None,
    cached: bool = False,
    use_rollups: bool = True,
) -> Result:
    """The report's rows (``definition`` already cleaned); ``start``/``end`` limit its date field.

    ``cached`` (dashboard tiles): reuse the rows of the same query while the tables it reads are
    unchanged (``_cached_rows``) — exact, not a time-to-live. A report a rollup answers exactly
    reads the rollup (``rollups.plan``) unless ``use_rollups`` is False (tests compare both)."""
    config = config_for(object_type)
    fields = report_fields(actor, object_type)
    tz = workspace_tz(actor.workspace)
    queryset = config.queryset(actor, "").order_by()
    condition = compile_filters(actor, config, definition.get("filters"))
    date_field = fields.get(definition.get("date_field") or "")
    dims = [(fields[g["field"]], g.get("bucket", "")) for g in definition.get("group_by", [])]
    aggregates = definition.get("aggregates") or [{"fn": "count"}]
    measures = {f"a{j}": _aggregate_expression(a, fields) for j, a in enumerate(aggregates)}
    ranged = date_field is not None and bool(start or end)
    planned = None
    if use_rollups:
        planned = rollups.plan(
            actor, object_type, config, queryset, condition, dims, aggregates, date_field, ranged
        )
    if planned is not None:
        queryset, measures = planned
    elif condition:
        queryset = queryset.filter(condition)
    if ranged:
        queryset = date_range_filter(queryset, date_field, start, end, tz)

    groups, names = {}, []
    for i, (f, bucket) in enumerate(dims):
        groups[f"g{i}"] = _group_expression(f, bucket, tz)
        names.append(f"g{i}")
        if f.label_path and not bucket:
            groups[f"g{i}_name"] = F(f.label_path)
            names.append(f"g{i}_name")
    limit = int(definition.get("limit") or DEFAULT_LIMIT)
    sort = definition.get("sort") or ("group" if any(b for _f, b in dims) else "value_desc")

    if groups:
        rows_qs = queryset.annotate(**groups).values(*names).annotate(**measures)
        if sort == "group":
            order = [f"g{i}" for i in range(len(dims))]
        else:
            order = ["-a0" if sort == "value_desc" else "a0", *[f"g{i}" for i in range(len(dims))]]
        statement = rows_qs.order_by(*order)[: limit + 1]

        def compute():
            return list(statement)
    else:
        # The key: the SQL of the records counted (scope, filters, range) and the measures; the
        # list's display annotations (joins, subqueries) are not part of it, nor of the aggregate.
        statement = queryset.values("pk")

        def compute():
            return [queryset.aggregate(**measures)]

    computed_at = None
    if cached:
        raw, computed_at = _cached_rows(actor.workspace.pk, statement, compute, repr(aggregates))
    else:
        raw = compute()
    truncated = len(raw) > limit
    raw = raw[:limit]

    users: dict = {}
    for i, (f, _bucket) in enumerate(dims):
        if f.custom is not None and f.kind == "user":
            users.update(_custom_user_labels({r[f"g{i}"] for r in raw if r[f"g{i}"] is not None}))
    rows = []
    for r in raw:
        keys, labels = [], []
        for i, (f, bucket) in enumerate(dims):
            value = r[f"g{i}"]
            keys.append(value)
            if bucket:
                labels.append(bucket_label(value, bucket))
            elif f.label_path:
                name = r.get(f"g{i}_name")
                labels.append(str(name) if name not in (None, "") else f.label_of(value))
            elif f.custom is not None and f.kind == "user" and value is not None:
                labels.append(users.get(str(value), str(value)))
            else:
                labels.append(f.label_of(value))
        values = [_plain(r[f"a{j}"]) for j in range(len(aggregates))]
        rows.append(Row(tuple(keys), tuple(labels), values))
    if sort == "group" and dims and dims[0][0].choices and not dims[0][1]:
        order_of = {k: n for n, k in enumerate(dims[0][0].choices)}
        rows.sort(key=lambda row: order_of.get(row.keys[0], len(order_of)))
    return Result(
        dimensions=[f"{f.label} ({BUCKETS[b]})" if b else str(f.label) for f, b in dims],
        measures=[measure_label(a, fields) for a in aggregates],
        rows=rows,
        dated=[bool(b) for _f, b in dims],
        truncated=truncated,
        computed_at=computed_at,
    )
