"""Reports answered from rollups: pre-grouped counts and sums kept exact by database triggers.

``commerce.OrderRollup`` (orders per day, status, currency, owner, team) and
``customers.AccountRollup`` (accounts per owner, team, grade, lifecycle stage, kind, size, status)
are kept by triggers in the same transaction as every write (their migrations), so a report that
only groups, filters and sums what a rollup keeps reads a few thousand rollup rows instead of
millions of records — and gets the same numbers. Reports sits above both apps, so it declares the
rollups here (no registry the lower apps call).

``plan`` says whether a report fits, and builds the rollup query if so. It fits when:

- the object type's list shows exactly the records the actor may see (its queryset is the record
  scope and nothing else — checked on the compiled SQL, so a list that later filters more falls
  back by itself), and that scope (``scope_filter``: all, own, team) names only owner/team;
- every filter condition is a plain lookup on a column the rollup keeps (custom fields, tags,
  related fields, expressions: no);
- the date range and date buckets are on a date column the rollup keeps (the order date; a
  datetime like ``created_at`` needs the workspace's time zone per row: no);
- every group-by field is such a column; every value is a count, or a sum or average of a column
  whose sum the rollup keeps (min/max cannot be kept exactly under deletes: no).

Anything else runs the report on the records, as before. Rows with a count of 0 (a key whose
records all left) are skipped.
"""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, DecimalField, ExpressionWrapper, FloatField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce

from kehu.listviews.registry import ListConfig
from kehu.workspaces.access import Actor, scope_filter, visible

from .fields import ReportField


@dataclass(frozen=True)
class Rollup:
    model: str  # "commerce.OrderRollup"
    count: str  # its column counting the records
    columns: frozenset[str]  # fields of the record model kept as they are (same names in the rollup)
    sums: frozenset[str]  # number fields of the record model whose sums the rollup keeps (same names)


OWNED = frozenset({"owner", "owner_id", "team", "team_id"})
ROLLUPS: dict[str, Rollup] = {
    "commerce.order": Rollup(
        "commerce.OrderRollup",
        "order_count",
        OWNED | {"order_date", "status", "currency"},
        frozenset({"total_amount", "total_cost", "discount", "base_total_amount", "base_total_cost"}),
    ),
    "customers.account": Rollup(
        "customers.AccountRollup",
        "account_count",
        OWNED | {"grade", "lifecycle_stage", "kind", "size", "status"},
        frozenset(),
    ),
}
# Lookups that compare a column's value: the same answer on the rollup's copy of the column.
LOOKUPS = frozenset({"exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "range"}) | {
    "contains",
    "icontains",
    "startswith",
    "istartswith",
}


def base_tables() -> dict[str, str]:
    """Rollup table -> the record table its triggers follow (the tile cache's data version)."""
    out = {}
    for object_type, rollup in ROLLUPS.items():
        model = apps.get_model(rollup.model)
        record = apps.get_model(object_type)
        out[model._meta.db_table] = record._meta.db_table
    return out


def enabled() -> bool:
    return getattr(settings, "REPORTS_ROLLUPS", True)


def _is_expression(value) -> bool:
    return hasattr(value, "resolve_expression")


def covered(condition: Q | None, columns: frozenset[str]) -> bool:
    """Whether every leaf of ``condition`` is a plain comparison of a column in ``columns``."""
    if condition is None:
        return True
    for child in condition.children:
        if isinstance(child, Q):
            if not covered(child, columns):
                return False
            continue
        if not isinstance(child, tuple) or len(child) != 2:
            return False  # an expression (Exists, a lookup object): not something we can vouch for
        path, value = child
        column, *lookup = path.split("__")
        if column not in columns or len(lookup) > 1 or (lookup and lookup[0] not in LOOKUPS):
            return False
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        if any(_is_expression(v) for v in items):
            return False
    return True


def _scope_only(actor: Actor, config: ListConfig, records) -> bool:
    """Whether the list's queryset for the actor is the record scope and nothing more."""
    plain = visible(actor, config.model.objects.all()).order_by().values("pk")
    return str(records.values("pk").query) == str(plain.query)


def _measure(spec: dict, rollup: Rollup):
    count = Cast(Coalesce(Sum(rollup.count), Value(0)), BigIntegerField())
    if spec["fn"] == "count":
        return count
    column = spec["field"]
    if spec["fn"] == "sum":
        return Sum(column)
    # avg: Σ / n, as the database's AVG would compute it (numeric on PostgreSQL, a double on SQLite)
    if connection.vendor == "sqlite":
        ratio = Cast(Sum(column), FloatField()) / Cast(Sum(rollup.count), FloatField())
    else:
        ratio = Sum(column) / Sum(rollup.count)
    return ExpressionWrapper(ratio, output_field=DecimalField())


def plan(
    actor: Actor,
    object_type: str,
    config: ListConfig,
    records,
    condition: Q | None,
    dims: list[tuple[ReportField, str]],
    aggregates: list[dict],
    date_field: ReportField | None,
    ranged: bool,
):
    """(rollup queryset, measures) when the rollup answers the report exactly, else None.

    ``records``: the list's queryset for the actor; ``condition``: the compiled filters; ``dims``:
    (field, bucket) per group; ``ranged``: a start or end applies to ``date_field`` (the caller
    filters the returned queryset by it, as it does the records)."""
    rollup = ROLLUPS.get(object_type)
    if rollup is None or not enabled():
        return None
    columns = rollup.columns
    if any(f.custom is not None or f.name not in columns for f, _bucket in dims):
        return None
    if any(bucket and f.kind != "date" for f, bucket in dims):
        return None
    if ranged and (
        date_field is None
        or date_field.custom is not None
        or date_field.kind != "date"
        or date_field.path not in columns
    ):
        return None
    for spec in aggregates:
        if spec["fn"] not in {"count", "sum", "avg"}:
            return None
        if spec["fn"] != "count" and spec.get("field") not in rollup.sums:
            return None
    scope = scope_filter(actor, object_type)
    if not covered(scope, columns) or not covered(condition, columns):
        return None
    if not _scope_only(actor, config, records):
        return None
    model = apps.get_model(rollup.model)
    queryset = model.objects.filter(workspace=actor.workspace, **{f"{rollup.count}__gt": 0}).order_by()
    if scope is not None:
        queryset = queryset.filter(scope)
    if condition:
        queryset = queryset.filter(condition)
    measures = {f"a{j}": _measure(spec, rollup) for j, spec in enumerate(aggregates)}
    return queryset, measures
