"""Reads of custom field definitions and values: who may see or write which field, and list filters.

Index strategy for filters and unique checks (documented in docs/custom-fields.md): on PostgreSQL
equality (``eq``, ``in``, multi-select ``contains``) is a JSON containment test
(``custom @> '{"key": value}'``) that a ``GIN (custom jsonb_path_ops)`` index on the record table
answers; range operators cast ``custom ->> 'key'`` and rely on the ``(workspace, …)`` indexes
narrowing first. SQLite has no JSON index here: it scans the workspace's rows with ``JSON_EXTRACT``.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import DecimalField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import (
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    LessThan,
    LessThanOrEqual,
)
from django.utils.translation import gettext as _

from kehu.core.errors import FieldError, ValidationFailed
from kehu.workspaces.access import Actor

from .models import FieldDefinition, FieldType

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "contains", "in", "isnull")
NUMERIC_TYPES = {FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT}
ORDERED_TYPES = NUMERIC_TYPES | {FieldType.DATE, FieldType.DATETIME, FieldType.TEXT, FieldType.URL}
CONTAINS_TYPES = {
    FieldType.TEXT,
    FieldType.LONG_TEXT,
    FieldType.URL,
    FieldType.EMAIL,
    FieldType.PHONE,
    FieldType.MULTI_SELECT,
}


# --- object types ----------------------------------------------------------------------------------


def model_for(object_type: str):
    """The model of a registered object type key (``app_label.model_name``) with a ``custom`` column."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
    fields = {f.name for f in model._meta.get_fields()}
    return model if "custom" in fields and getattr(model, "object_type", "") == object_type else None


def supported_object_types() -> list:
    """Registered object types whose records carry custom fields, by label."""
    from kehu.workspaces.permissions import OBJECT_TYPES

    return sorted(
        (ot for ot in OBJECT_TYPES.values() if model_for(ot.key) is not None), key=lambda ot: str(ot.label)
    )


# --- who sees what ---------------------------------------------------------------------------------


_remembered: ContextVar[dict | None] = ContextVar("kehu_custom_definitions", default=None)


@contextmanager
def remembered_definitions() -> Iterator[None]:
    """Inside this block each object type's definitions are read once: for bulk writes, which
    validate the custom values of up to a thousand records against the same definitions."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def definitions(object_type: str, *, include_archived: bool = False) -> list[FieldDefinition]:
    """The workspace's fields of ``object_type`` in form order (inside the workspace scope)."""
    memo = _remembered.get()
    if memo is not None and (object_type, include_archived) in memo:
        return memo[(object_type, include_archived)]
    qs = FieldDefinition.objects.filter(object_type=object_type)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    found = list(qs.order_by("position", "id"))
    if memo is not None:
        memo[(object_type, include_archived)] = found
    return found


def can_read(actor: Actor, definition: FieldDefinition) -> bool:
    """Administrators read every field; others when their role is listed (or the list is empty)."""
    roles = definition.visible_to_roles or []
    return actor.can_manage_workspace or not roles or actor.role.key in roles


def can_write(actor: Actor, definition: FieldDefinition) -> bool:
    if not can_read(actor, definition) or definition.archived_at is not None:
        return False
    roles = definition.editable_by_roles or []
    return actor.can_manage_workspace or not roles or actor.role.key in roles


def readable(actor: Actor, object_type: str) -> list[FieldDefinition]:
    """Cached per actor object (a request's actor lives as long as the request)."""
    cache = actor.__dict__.setdefault("_custom_field_cache", {})
    if object_type not in cache:
        cache[object_type] = [d for d in definitions(object_type) if can_read(actor, d)]
    return cache[object_type]


def writable(actor: Actor, object_type: str) -> list[FieldDefinition]:
    return [d for d in definitions(object_type) if can_write(actor, d)]


def readable_values(
    actor: Actor, object_type: str, values: dict | None, defs: list[FieldDefinition] | None = None
) -> dict[str, Any]:
    """The part of a record's ``custom`` dict the actor may read (hidden and archived fields left out)."""
    values = values or {}
    defs = readable(actor, object_type) if defs is None else defs
    return {d.key: values[d.key] for d in defs if d.key in values}


def display_value(definition: FieldDefinition, value: Any, *, users: dict | None = None) -> str:
    """A value as a person reads it (choice labels, Yes/No, user names)."""
    if value is None or value == "" or value == []:
        return ""
    kind = definition.field_type
    if kind == FieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if kind == FieldType.SINGLE_SELECT:
        return definition.choice_label(value)
    if kind == FieldType.MULTI_SELECT:
        return ", ".join(definition.choice_label(v) for v in value)
    if kind == FieldType.PERCENT:
        return f"{value} %"
    if kind == FieldType.USER and users is not None:
        return str(users.get(value, value))
    return str(value)


# --- filters ---------------------------------------------------------------------------------------


def _definition(object_type: str, key: str) -> FieldDefinition:
    found = FieldDefinition.objects.filter(object_type=object_type, key=key, archived_at__isnull=True).first()
    if found is None:
        raise ValidationFailed([FieldError(f"custom.{key}", _("Unknown custom field."), "unknown")])
    return found


def _filter_value(definition: FieldDefinition, value: Any) -> Any:
    """The filter value stored the way values are stored (same normalisation as writes)."""
    from .validators import normalize_for_filter

    return normalize_for_filter(definition, value)


def custom_filter(
    object_type: str, key: str, op: str, value: Any, *, definition: FieldDefinition | None = None
) -> Q:
    """A condition on the custom field ``key`` of ``object_type`` records; works on SQLite and PostgreSQL.

    ``op``: eq, ne, lt, lte, gt, gte, contains (text substring, or a multi-select holding the value),
    in (list or comma-separated), isnull (true = no value). Bad values raise ``ValidationFailed`` on
    the field ``custom.<key>``.
    """
    definition = definition or _definition(object_type, key)
    kind = definition.field_type
    field = f"custom.{key}"
    if op not in OPERATORS:
        raise ValidationFailed([FieldError(field, _("Unknown operator “%s”.") % op, "invalid_operator")])
    if op == "isnull":
        flag = str(value).strip().lower() not in {"0", "false", "no", "off"}
        has = Q(custom__has_key=key)
        return ~has if flag else has
    if op == "in":
        items = value if isinstance(value, list | tuple) else [v for v in str(value).split(",") if v.strip()]
        if not items:
            return Q(pk__in=[])
        condition = Q()
        for item in items:
            condition |= _equals(definition, _filter_value(definition, item))
        return condition
    if op in {"eq", "ne"}:
        if kind == FieldType.MULTI_SELECT:
            condition = _multi_contains(definition, _filter_value(definition, value))
        else:
            condition = _equals(definition, _filter_value(definition, value))
        return condition if op == "eq" else (~condition | ~Q(custom__has_key=key))
    if op == "contains":
        if kind not in CONTAINS_TYPES:
            raise ValidationFailed(
                [FieldError(field, _("This field cannot be searched by text."), "invalid")]
            )
        if kind == FieldType.MULTI_SELECT:
            return _multi_contains(definition, _filter_value(definition, value))
        return Q(IContains(KeyTextTransform(key, "custom"), str(value)))
    # lt / lte / gt / gte
    if kind not in ORDERED_TYPES:
        raise ValidationFailed([FieldError(field, _("This field cannot be compared."), "invalid")])
    lookup = {"lt": LessThan, "lte": LessThanOrEqual, "gt": GreaterThan, "gte": GreaterThanOrEqual}[op]
    normalized = _filter_value(definition, value)
    if kind in NUMERIC_TYPES:
        try:
            number = Decimal(str(normalized))
        except InvalidOperation:
            raise ValidationFailed([FieldError(field, _("Enter a number."), "invalid")]) from None
        cast = Cast(KeyTextTransform(key, "custom"), DecimalField(max_digits=30, decimal_places=8))
        return Q(lookup(cast, number)) & Q(custom__has_key=key)
    # ISO dates and datetimes (stored in UTC) and text compare as strings.
    return Q(lookup(KeyTextTransform(key, "custom"), str(normalized))) & Q(custom__has_key=key)


def _equals(definition: FieldDefinition, value: Any) -> Q:
    if connection.vendor == "postgresql":
        return Q(custom__contains={definition.key: value})  # served by a GIN index on custom
    # The explicit final lookup keeps a key named like a lookup ("contains", "in") a key.
    return Q(**{f"custom__{definition.key}__exact": value})


def _multi_contains(definition: FieldDefinition, value: Any) -> Q:
    item = value[0] if isinstance(value, list) and value else value
    if connection.vendor == "postgresql":
        return Q(custom__contains={definition.key: [item]})
    # SQLite: the stored list as JSON text holds the quoted value.
    return Q(IContains(KeyTextTransform(definition.key, "custom"), json.dumps(item, ensure_ascii=False)))


def filter_from_params(actor: Actor, object_type: str, params) -> Q:
    """``?custom.<key>=v`` / ``?custom.<key>__gte=v`` query parameters as one AND-ed condition.

    Only fields the actor may read can be filtered on (else a filter would reveal hidden values).
    """
    defs = {d.key: d for d in readable(actor, object_type)}
    condition = Q()
    errors = []
    for name in params:
        if not name.startswith("custom."):
            continue
        key, _sep, op = name.removeprefix("custom.").partition("__")
        op = op or "eq"
        definition = defs.get(key)
        if definition is None:
            errors.append(FieldError(f"custom.{key}", _("Unknown custom field."), "unknown"))
            continue
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        for value in values:
            try:
                condition &= custom_filter(object_type, key, op, value, definition=definition)
            except ValidationFailed as exc:
                errors.extend(exc.details)
    if errors:
        raise ValidationFailed(errors)
    return condition


def apply_params(actor: Actor, queryset: QuerySet, params) -> QuerySet:
    condition = filter_from_params(actor, queryset.model.object_type, params)
    return queryset.filter(condition) if condition else queryset


def export_columns(actor: Actor, object_type: str):
    """(headers, cells) for CSV exports: one ``custom.<key>`` column per field the actor may read.

    ``cells(custom)`` turns a record's ``custom`` dict into the row's cells (lists joined by "; ").
    """
    defs = readable(actor, object_type)

    def cells(custom: dict | None) -> list:
        custom = custom or {}
        row = []
        for d in defs:
            value = custom.get(d.key)
            row.append("; ".join(map(str, value)) if isinstance(value, list) else value)
        return row

    return [f"custom.{d.key}" for d in defs], cells
