"""Fast writes and lookups for batches of records (bulk create, imports).

The ORM's ``bulk_create`` spends most of a 1,000-record call building the statement: a model
instance per row, a ``get_db_prep_save`` call per value, and on PostgreSQL psycopg dumping the
values as arrays for ``INSERT … SELECT * FROM UNNEST(…)``. ``Table`` writes plain tuples instead:

- PostgreSQL: ids are reserved from the table's identity sequence (``nextval`` over
  ``generate_series``), the rows streamed with ``COPY … FROM STDIN`` (psycopg 3 ``cursor.copy()``)
  on the caller's connection, inside its transaction;
- SQLite: one prepared ``INSERT`` run with ``executemany``, or multi-row ``INSERT … RETURNING id``
  when the caller needs the ids.

Values are stored exactly as the ORM stores them: each goes through its field's
``get_db_prep_save`` unless it already has its database form (a str, int, bool or None for text,
integer, key and boolean columns). Columns a caller leaves out get the field's default.
"""
# ruff: noqa: S608 - SQL here is built from model metadata (table and column names), never user text

import enum
import json
import math
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np
from django.db import connections, models, router

_SEQUENCES: dict[tuple[str, str, str], str] = {}


def _converter(field: models.Field, connection):
    """A function turning a Python value of ``field`` into what the ORM would send to the database."""
    prep = field.get_db_prep_save
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.CharField | models.TextField):
        fast: type = str
    elif isinstance(target, models.BooleanField):
        fast = bool
    elif isinstance(target, models.IntegerField):  # auto fields and keys included
        fast = int
    else:
        # Rows of one write share some values (the ``created_at`` of all of them): convert once.
        last: list = [object(), None]

        def convert_other(value: Any) -> Any:
            if value is not last[0]:
                last[:] = [value, prep(value, connection)]
            return last[1]

        return convert_other

    def convert(value: Any) -> Any:
        if value is None or type(value) is fast:
            return value
        if isinstance(value, enum.Enum):  # TextChoices members: their value, as the ORM stores it
            value = value.value
        return prep(value, connection)

    return convert


class Table:
    """Insert rows of ``model`` given as tuples of ``columns`` (attribute names: ``contact_id``)."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]):
        opts = model._meta
        by_attname = {f.attname: f for f in opts.concrete_fields}
        unknown = [c for c in columns if c not in by_attname]
        if unknown:
            raise ValueError(f"{opts.label} has no columns {unknown}")
        self.model = model
        self.db = router.db_for_write(model)
        self.fields = [by_attname[c] for c in columns]
        self.rest = [f for f in opts.concrete_fields if not f.primary_key and f.attname not in columns]
        stamped = [
            f.attname for f in self.rest if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        if stamped:
            raise ValueError(f"give {stamped} of {opts.label} explicitly")

    def insert(self, rows: Iterable[tuple], *, returning_ids: bool = False) -> list[int]:
        """Write the rows; their new ids in row order when ``returning_ids`` (else ``[]``)."""
        connection = connections[self.db]
        convert = [_converter(f, connection) for f in self.fields]
        defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in self.rest)
        rows = list(rows)
        if not rows:
            return []
        # Column by column: one converter over many values is cheaper than a tuple built per row.
        columns_ = [list(map(c, values)) for c, values in zip(convert, zip(*rows, strict=True), strict=True)]
        prepared = [row + defaults for row in zip(*columns_, strict=True)]
        columns = [f.column for f in self.fields + self.rest]
        if connection.vendor == "postgresql":
            return self._copy(connection, columns, prepared, returning_ids)
        return self._insert(connection, columns, prepared, returning_ids)

    def _copy(self, connection, columns: list[str], rows: list[tuple], returning_ids: bool) -> list[int]:
        opts = self.model._meta
        quote = connection.ops.quote_name
        ids: list[int] = []
        with connection.cursor() as cursor:
            if returning_ids:
                cursor.execute(
                    "SELECT nextval(%s) FROM generate_series(1, %s)",
                    [_sequence(cursor, opts.db_table, opts.pk.column), len(rows)],
                )
                # One statement's nextval calls come in order; sorted, they follow the rows.
                ids = sorted(row[0] for row in cursor.fetchall())
                columns = [opts.pk.column, *columns]
                rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
            statement = f"COPY {quote(opts.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN"
            # The raw psycopg cursor: COPY is not part of the DB-API that Django's wrapper offers.
            started = time.perf_counter()
            with cursor.cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            _log(connection, f"{statement} -- {len(rows)} rows", time.perf_counter() - started)
        return ids

    def _insert(self, connection, columns: list[str], rows: list[tuple], returning_ids: bool) -> list[int]:
        opts = self.model._meta
        quote = connection.ops.quote_name
        head = f"INSERT INTO {quote(opts.db_table)} ({', '.join(map(quote, columns))}) VALUES "
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        with connection.cursor() as cursor:
            if not returning_ids:
                cursor.executemany(head + one, rows)
                return []
            ids: list[int] = []
            per_statement = max(1, min(1000, connection.features.max_query_params // len(columns)))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(
                    head + ", ".join([one] * len(chunk)) + f" RETURNING {quote(opts.pk.column)}",
                    [value for row in chunk for value in row],
                )
                # Rows get increasing ids in VALUES order; RETURNING's order is not promised.
                ids += sorted(row[0] for row in cursor.fetchall())
            return ids


def replace_rows(
    model: type[models.Model],
    scope: dict[str, Any],
    key: str,
    columns: dict[str, Any],
    *,
    insert_only: Sequence[str] = ("created_at",),
) -> int:
    """Make the rows of ``model`` within ``scope`` (``{"workspace_id": 7}``) exactly the given ones, one per
    ``key`` value (a unique column): rows whose key exists are updated in place, new keys inserted, the
    rest deleted. Returns the number of rows given. Call it inside a transaction: readers see the old
    rows until the commit.

    ``columns`` maps attribute names to one value per row (a list, or a numpy array: NaN is NULL) or
    to a single value shared by all rows; ``scope`` and ``key`` values are written too, ``insert_only``
    columns (the creation stamp) only into new rows. On PostgreSQL the rows are COPYed as text
    formatted a column at a time into a temporary table, then merged by three set statements: an
    update in place keeps the foreign keys unchanged, so PostgreSQL checks none of them again —
    deleting and re-inserting 800k predictions spent 29 s of its commit on 1.6M deferred foreign-key
    checks, and psycopg's per-value formatting of the rows was most of the rest (docs/performance.md).
    """
    opts = model._meta
    if key not in columns:
        raise ValueError(f"give the key {key} of {opts.label}")
    values, n, rest = _column_values(model, {**scope, **columns})
    insert_only = [*insert_only, *rest]
    by_attname = {f.attname: f for f in opts.concrete_fields}
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    where = " AND ".join(f"t.{quote(by_attname[c].column)} = %s" for c in scope)
    params = list(scope.values())
    fields = [by_attname[c] for c in values]
    cols = [quote(f.column) for f in fields]
    k = quote(by_attname[key].column)
    stage = quote(f"stage_{opts.db_table}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {', '.join(cols)} FROM {table} WHERE 1 = 0")
        _write_columns(cursor, stage, fields, list(values.values()), n)
        cursor.execute(f"ANALYZE {stage}")
        fixed = {key, *scope, *insert_only}
        updated = [quote(f.column) for f in fields if f.attname not in fixed]
        if updated:
            cursor.execute(
                f"UPDATE {table} AS t SET {', '.join(f'{c} = s.{c}' for c in updated)} "
                f"FROM {stage} AS s WHERE {where} AND t.{k} = s.{k}",
                params,
            )
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(f's.{c}' for c in cols)} "
            f"FROM {stage} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {where} AND t.{k} = s.{k})",
            params,
        )
        cursor.execute(
            f"DELETE FROM {table} AS t WHERE {where} AND NOT EXISTS (SELECT 1 FROM {stage} AS s "
            f"WHERE s.{k} = t.{k})",
            params,
        )
        cursor.execute(f"DROP TABLE {stage}")
    return n


def insert_columns(model: type[models.Model], columns: dict[str, Any]) -> int:
    """Insert rows of ``model`` given a column at a time (``replace_rows``' conventions: a sequence per
    column or one value for all rows; columns not given get their default); returns how many. On
    PostgreSQL the COPY text is formatted a column at a time — for wide rows several times faster
    than ``Table.insert``'s per-row formatting (docs/performance.md)."""
    values, n, _rest = _column_values(model, columns)
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(model._meta.db_table)
        _write_columns(cursor, table, [by_attname[c] for c in values], list(values.values()), n)
    return n


def _column_values(
    model: type[models.Model], columns: dict[str, Any]
) -> tuple[dict[str, Any], int, list[str]]:
    """The columns checked, single values marked ``_Same``, the defaults of the columns not given added;
    with the number of rows and the names of the defaulted columns."""
    opts = model._meta
    by_attname = {f.attname: f for f in opts.concrete_fields}
    unknown = [c for c in columns if c not in by_attname]
    if unknown:
        raise ValueError(f"{opts.label} has no columns {unknown}")
    n = next((len(v) for v in columns.values() if _is_column(v)), 0)
    if any(_is_column(v) and len(v) != n for v in columns.values()):
        raise ValueError("every column needs one value per row")
    values = {c: v if _is_column(v) else _Same(v) for c, v in columns.items()}
    rest = {
        f.attname: f.get_default()
        for f in opts.concrete_fields
        if not f.primary_key and f.attname not in values
    }
    stamped = [
        c
        for c in rest
        if getattr(by_attname[c], "auto_now", False) or getattr(by_attname[c], "auto_now_add", False)
    ]
    if stamped:
        raise ValueError(f"give {stamped} of {opts.label} explicitly")
    values |= {c: _Same(v) for c, v in rest.items()}
    return values, n, list(rest)


def _write_columns(cursor, table: str, fields: list[models.Field], values: list[Any], n: int) -> None:
    """Append ``n`` rows given a column at a time to ``table`` (quoted): COPY on PostgreSQL."""
    connection = cursor.db
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        texts = [_copy_texts(f, v, n) for f, v in zip(fields, values, strict=True)]
        with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for start in range(0, n, 50_000):
                chunk = [column[start : start + 50_000] for column in texts]
                copy.write("\n".join(map("\t".join, zip(*chunk, strict=True))) + "\n")
    else:
        converted = [
            list(map(_converter(f, connection), map(_plain, [v.value] * n if isinstance(v, _Same) else v)))
            for f, v in zip(fields, values, strict=True)
        ]
        cursor.executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(fields))})",
            list(zip(*converted, strict=True)),
        )
    _log(connection, f"-- {n} rows into {table}", time.perf_counter() - started)


class _Same(NamedTuple):
    """One value for every row."""

    value: Any


def _is_column(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, NaN as None (the SQLite path)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_texts(field: models.Field, values: Any, n: int) -> list[str]:
    """The COPY text of one column's values (or of one value shared by ``n`` rows)."""
    if isinstance(values, _Same):
        return [_copy_texts(field, [values.value], 1)[0]] * n
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        if isinstance(field, models.DecimalField):
            values = np.round(values, field.decimal_places)
        out = list(map(repr, values.tolist()))
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = "\\N"
        return out
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(field, models.JSONField):
        encoder, shared = field.encoder, {}
        out = []
        for value in values:
            text = shared.get(id(value))
            if text is None:
                text = json.dumps(value, cls=encoder, ensure_ascii=False).replace("\\", "\\\\")
                if not value:  # the shared empties ([] or {}) of a call: formatted once
                    shared[id(value)] = text
            out.append(text)
        return out
    return list(map(_copy_text, values))


def _copy_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, enum.Enum):
        return _copy_text(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)  # integers, Decimals, floats: what PostgreSQL reads


def _sequence(cursor, table: str, column: str) -> str:
    key = (cursor.db.alias, table, column)
    if key not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        _SEQUENCES[key] = cursor.fetchone()[0]
    return _SEQUENCES[key]


def _log(connection, sql: str, seconds: float) -> None:
    """Show the COPY in ``connection.queries`` (DEBUG, query-count tests) like any statement."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{seconds:.3f}"})


def new_records(model: type[models.Model], values: list[dict[str, Any]], stamps: dict[str, Any]) -> list:
    """Insert records of ``model`` (each a dict of field values, plus ``stamps`` shared by all) and
    return them as saved instances, as ``bulk_create`` would; defaults fill the fields not given."""
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    by_key = {f.name: f for f in fields} | {f.attname: f for f in fields}
    attnames = [f.attname for f in fields]
    position = {name: i for i, name in enumerate(attnames)}
    related = [(by_key[k], v) for k, v in stamps.items() if isinstance(v, models.Model)]
    base = [None] * len(fields)
    for key, value in stamps.items():
        field = by_key[key]
        base[position[field.attname]] = value.pk if isinstance(value, models.Model) else value
    given = {by_key[k].attname for k in stamps}
    # Fields neither stamped nor given take their default: a constant one is filled in once per call
    # (``get_default`` per field and row was ~30 calls per contact), a callable one (dict, list) per
    # row so that no two records share a mutable value.
    per_row = []
    for field in fields:
        if field.attname in given:
            continue
        if field.has_default() and callable(field.default):
            per_row.append(field)
        else:
            base[position[field.attname]] = field.get_default()
    rows = []
    for item in values:
        row = list(base)
        for key, value in item.items():
            field = by_key.get(key)
            if field is None:
                raise TypeError(f"{model.__name__}() got an unexpected keyword argument '{key}'")
            row[position[field.attname]] = value.pk if isinstance(value, models.Model) else value
        for field in per_row:
            if field.name not in item and field.attname not in item:
                row[position[field.attname]] = field.get_default()
        rows.append(row)
    ids = Table(model, attnames).insert(rows, returning_ids=True)
    db = router.db_for_write(model)
    records = []
    for pk, row in zip(ids, rows, strict=True):
        record = model.from_db(db, None, [pk, *row])
        for field, value in related:
            field.set_cached_value(record, value)
        records.append(record)
    return records


def owners_by_points(workspace_id: int, kind: str, values: Iterable[str], owner: str) -> dict[str, int]:
    """``{value: record id}`` of the records (``owner`` is ``contact_id`` or ``account_id``) having one
    of ``values`` as a phone or email (``kind``); the oldest phone/email row wins a shared value."""
    found: dict[str, int] = {}
    for value, pk in point_owners(workspace_id, kind, values, owner):
        found.setdefault(value, pk)
    return found


def point_owners(workspace_id: int, kind: str, values: Iterable[str], owner: str) -> list[tuple[str, int]]:
    """Every (value, record id) of the records (``owner`` is ``contact_id`` or ``account_id``) having
    one of ``values`` as a phone or email (``kind``), oldest phone/email row first.

    On PostgreSQL each value is one probe of the ``(workspace, kind, value)`` btree. The obvious
    ``value IN (…1,000 values…)`` is planned on the trigram GIN index of the search (it supports
    ``=`` and its estimate looks cheap), which walks the posting lists of the common trigrams
    (``exa``, ``com``, ``+86``) for every value: 20–40 s per batch at 100k rows, growing with the
    table (docs/performance.md).
    """
    from .models import ContactPoint

    wanted = sorted(set(values))
    if not wanted:
        return []
    if owner not in ("contact_id", "account_id"):
        raise ValueError(owner)
    kind = str(kind)  # a Kind member is dumped by name, not value, by psycopg
    db = router.db_for_read(ContactPoint)
    connection = connections[db]
    if connection.vendor != "postgresql":
        return list(
            ContactPoint.objects.filter(
                workspace_id=workspace_id, kind=kind, value__in=wanted, **{f"{owner}__isnull": False}
            )
            .order_by("id")
            .values_list("value", owner)
        )
    with connection.cursor() as cursor:
        return _probe_each(
            cursor,
            ContactPoint._meta.db_table,
            [owner],
            f"workspace_id = %s AND kind = %s AND {owner} IS NOT NULL",
            "value",
            wanted,
            [workspace_id, kind],
            order_by="id",
        )


def column_owners(base, workspace_id: int, column: str, values: Iterable[str]) -> list[tuple[int, str]]:
    """(pk, value) of the records of ``base`` (a scoped queryset) whose ``column`` is one of ``values``:
    on PostgreSQL one probe of the ``(workspace, column)`` btree per value when the model has that
    index — ``column IN (…)`` is planned on the contacts' trigram search index too (3.7 s for 1,000
    phones at 35k contacts, the trap of ``point_owners``)."""
    model = base.model
    wanted = sorted(set(values))
    connection = connections[router.db_for_read(model)]
    indexed = any(list(index.fields) == ["workspace", column] for index in model._meta.indexes)
    if connection.vendor != "postgresql" or "__" in column or not indexed:
        return list(base.filter(**{column + "__in": wanted}).values_list("pk", column))
    with connection.cursor() as cursor:
        rows = _probe_each(
            cursor,
            model._meta.db_table,
            ["id"],
            "workspace_id = %s",
            model._meta.get_field(column).column,
            wanted,
            [workspace_id],
        )
    return [(pk, value) for value, pk in rows]


def _probe_each(
    cursor,
    table: str,
    columns: list[str],
    where: str,
    column: str,
    values: list,
    params: list,
    order_by: str = "",
) -> list[tuple]:
    """(value, *columns) of the rows of ``table`` matching ``where`` whose ``column`` equals one of
    ``values``, by one index probe per value: ``LATERAL … OFFSET 0`` keeps PostgreSQL from a hash join
    over the workspace's rows or a bitmap scan of a trigram index."""
    quote = cursor.db.ops.quote_name
    sql = f"""
        SELECT v.value, {", ".join(f"p.{quote(c)}" for c in columns)} FROM unnest(%s::text[]) AS v(value)
        CROSS JOIN LATERAL (
            SELECT {", ".join({quote(c): None for c in [*columns, order_by] if c})} FROM {quote(table)}
            WHERE {where} AND {quote(column)} = v.value
            OFFSET 0
        ) AS p
        {f"ORDER BY p.{quote(order_by)}" if order_by else ""}
    """
    cursor.execute(sql, [values, *params])
    return cursor.fetchall()


def refresh_statistics(*tables: type[models.Model]) -> None:
    """``ANALYZE`` the tables of these models (PostgreSQL; nothing elsewhere).

    A workspace that is new to the planner's statistics looks empty: ``workspace_id = <new>`` is
    estimated at one row, so a lookup in it is planned on any index that starts with the workspace
    and filters every row the workspace has meanwhile gained (5 ms per probe at 10k rows; 1.3 ms of
    backend per imported row at 30k contacts for the email and phone probes, measured). Autovacuum
    analyzes only after 10 % of the whole table changed, which a new workspace's import into a large
    shared table may never reach; a long import refreshes the statistics itself. Only the workspace
    column is analyzed: its estimate is what picks the index, and a whole-table ANALYZE also
    evaluates the expression indexes (≈ 3 s for the contacts' bigrams, measured in session 7).
    """
    if not tables:
        return
    connection = connections[router.db_for_write(tables[0])]
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            column = model._meta.get_field("workspace").column
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({quote(column)})")
