"""Filter specs: nested AND/OR groups of conditions, validated and compiled to one ``Q``.

A spec is JSON::

    {"op": "and", "conditions": [
        {"field": "city", "lookup": "eq", "value": "上海"},
        {"op": "or", "conditions": [{"field": "owner", "lookup": "eq", "value": "me"}, ...]}]}

Fields come from an allow-list per object type (``ListConfig.fields``) plus every custom field the
actor may read (``custom.<key>``, compiled by ``kehu.customfields.queries.custom_filter``, so
custom filters use the same rules and indexes everywhere). Every problem is reported with its path
(``filters.conditions.1.value``) in one ``ValidationFailed``.
"""

import base64
import binascii
import json
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errors import FieldError, ValidationFailed
from kehu.customfields.models import FieldType
from kehu.customfields.queries import custom_filter, readable
from kehu.workspaces.access import Actor

from .registry import ListConfig, ListField

MAX_DEPTH = 3
MAX_CONDITIONS = 50
MAX_IN_VALUES = 100
LOOKUP_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "startswith": gettext_lazy("starts with"),
    "in": gettext_lazy("is one of"),
    "lt": gettext_lazy("less than"),
    "lte": gettext_lazy("at most"),
    "gt": gettext_lazy("greater than"),
    "gte": gettext_lazy("at least"),
    "between": gettext_lazy("between"),
    "relative": gettext_lazy("in period"),
    "isnull": gettext_lazy("is empty"),
    "has": gettext_lazy("has"),
    "hasnot": gettext_lazy("does not have"),
}
RELATIVE_PERIODS = {
    "today": gettext_lazy("Today"),
    "yesterday": gettext_lazy("Yesterday"),
    "last_7_days": gettext_lazy("Last 7 days"),
    "last_30_days": gettext_lazy("Last 30 days"),
    "last_90_days": gettext_lazy("Last 90 days"),
    "this_month": gettext_lazy("This month"),
    "last_month": gettext_lazy("Last month"),
    "this_year": gettext_lazy("This year"),
    "next_7_days": gettext_lazy("Next 7 days"),
    "next_30_days": gettext_lazy("Next 30 days"),
}
CUSTOM_TYPES = {
    FieldType.TEXT: "text",
    FieldType.LONG_TEXT: "text",
    FieldType.URL: "text",
    FieldType.EMAIL: "text",
    FieldType.PHONE: "text",
    FieldType.NUMBER: "number",
    FieldType.MONEY: "number",
    FieldType.PERCENT: "number",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.BOOLEAN: "bool",
    FieldType.SINGLE_SELECT: "choice",
    FieldType.MULTI_SELECT: "multichoice",
    FieldType.USER: "user",
    FieldType.RELATION: "relation",
}
# Lookups custom_filter cannot answer for a type (it has no prefix match; "contains" only on text).
CUSTOM_UNSUPPORTED = {"startswith"}


def empty_spec() -> dict:
    return {"op": "and", "conditions": []}


def is_empty(spec: dict | None) -> bool:
    return not spec or not spec.get("conditions")


# --- the fields an actor may filter on --------------------------------------------------------------


def available_fields(actor: Actor, config: ListConfig) -> dict[str, ListField]:
    """Standard fields of the list, then the custom fields the actor may read, by name."""
    fields = {f.name: f for f in config.fields}
    for definition in readable(actor, config.object_type):
        choices = tuple((c.get("value"), c.get("label") or c.get("value")) for c in definition.choices)
        name = f"custom.{definition.key}"
        fields[name] = ListField(
            name,
            definition.label,
            CUSTOM_TYPES.get(definition.field_type, "text"),
            choices=choices,
            definition=definition,
        )
    return fields


# --- URL encoding ----------------------------------------------------------------------------------


def encode_spec(spec: dict) -> str:
    raw = json.dumps(spec, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_spec(text: str) -> dict:
    """The spec of a ``?f=`` parameter (base64url JSON); ``ValidationFailed`` on ``filters``."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            [FieldError("filters", _("This filter link is damaged."), "invalid")]
        ) from None
    return data


def parse_json_spec(text: str) -> dict:
    """The spec of an API ``?filters=`` parameter (JSON)."""
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationFailed([FieldError("filters", _("Send the filters as JSON."), "invalid")]) from None


# --- values ----------------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, message: str, suffix: str = "value"):
        super().__init__(message)
        self.message, self.suffix = message, suffix


def _workspace_tz(actor: Actor):
    try:
        return zoneinfo.ZoneInfo(actor.workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, AttributeError):
        return timezone.get_default_timezone()


def relative_range(token: str, today: date) -> tuple[date, date]:
    """[start, end) of a relative period around ``today``."""
    if token == "today":
        return today, today + timedelta(days=1)
    if token == "yesterday":
        return today - timedelta(days=1), today
    if token.startswith("last_") and token.endswith("_days"):
        days = int(token.removeprefix("last_").removesuffix("_days"))
        return today - timedelta(days=days - 1), today + timedelta(days=1)
    if token.startswith("next_") and token.endswith("_days"):
        days = int(token.removeprefix("next_").removesuffix("_days"))
        return today, today + timedelta(days=days + 1)
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    if token == "this_month":
        return first, next_month
    if token == "last_month":
        return (first - timedelta(days=1)).replace(day=1), first
    if token == "this_year":
        return today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)
    raise _Bad(_("Unknown period."))


def _scalar(field: ListField, value: Any, actor: Actor) -> Any:
    """One value converted to the field's type (``_Bad`` when it is not one)."""
    kind = field.type
    if isinstance(value, list | dict):
        raise _Bad(_("Enter a single value."))
    if kind in {"text", "multichoice", "tag"} or (kind == "choice" and not field.choices):
        text = str(value).strip()
        if not text:
            raise _Bad(_("Enter a value."))
        return text[:200]
    if kind == "choice":
        allowed = {str(v) for v, _label in field.choices}
        if str(value) not in allowed:
            raise _Bad(_("Choose one of: %s.") % ", ".join(sorted(allowed)))
        return str(value)
    if kind == "number":
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise _Bad(_("Enter a number.")) from None
        if not number.is_finite():
            raise _Bad(_("Enter a number."))
        return number
    if kind in {"user", "relation"}:
        if kind == "user" and str(value).strip().lower() == "me":
            return actor.user.pk
        try:
            return int(str(value).strip())
        except ValueError:
            raise _Bad(_("Enter an id.") if kind == "relation" else _("Choose a member or “me”.")) from None
    if kind == "date":
        parsed = parse_date(str(value).strip()) if value else None
        if parsed is None:
            raise _Bad(_("Enter a date as YYYY-MM-DD."))
        return parsed
    if kind == "datetime":
        text = str(value).strip()
        try:
            parsed_dt = parse_datetime(text) or (
                datetime.combine(parse_date(text), time()) if parse_date(text) else None
            )
        except ValueError:
            parsed_dt = None
        if parsed_dt is None:
            raise _Bad(_("Enter a date and time."))
        if timezone.is_naive(parsed_dt):
            parsed_dt = timezone.make_aware(parsed_dt, _workspace_tz(actor))
        return parsed_dt
    if kind == "bool":
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "on"} or value is True:
            return True
        if text in {"false", "0", "no", "off"} or value is False:
            return False
        raise _Bad(_("Enter true or false."))
    raise _Bad(_("Enter a value."))


def _values(field: ListField, value: Any, actor: Actor) -> list:
    items = value if isinstance(value, list) else [v for v in str(value or "").split(",") if v.strip()]
    if not items:
        raise _Bad(_("Enter at least one value."))
    if len(items) > MAX_IN_VALUES:
        raise _Bad(_("At most %d values.") % MAX_IN_VALUES)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_scalar(field, item, actor))
        except _Bad as bad:
            raise _Bad(bad.message, f"value.{i}") from None
    return out


def _flag(value: Any) -> bool:
    if value is None or value == "":
        return True
    return str(value).strip().lower() not in {"0", "false", "no", "off"}


# --- compilation ------------------------------------------------------------------------------------


def _bounds(field: ListField, lookup: str, value: Any, actor: Actor) -> tuple[Any, Any]:
    """(low, high) for between (inclusive) and relative (high exclusive)."""
    if lookup == "relative":
        if str(value) not in RELATIVE_PERIODS:
            raise _Bad(_("Choose one of: %s.") % ", ".join(RELATIVE_PERIODS))
        today = timezone.localdate(timezone=_workspace_tz(actor))
        start, end = relative_range(str(value), today)
        if field.type == "datetime":
            tz = _workspace_tz(actor)
            return datetime.combine(start, time(), tzinfo=tz), datetime.combine(end, time(), tzinfo=tz)
        return start, end
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad(_("Give two values: from and to."))
    low, high = _values(field, value, actor)
    return low, high


def _standard(field: ListField, lookup: str, value: Any, actor: Actor) -> Q:
    path = field.orm_path
    if lookup == "isnull":
        empty = Q(**{f"{path}__isnull": True})
        if field.type in {"text", "choice"}:
            empty |= Q(**{path: ""})
        return empty if _flag(value) else ~empty
    if lookup == "in":
        return Q(**{f"{path}__in": _values(field, value, actor)})
    if lookup in {"between", "relative"}:
        low, high = _bounds(field, lookup, value, actor)
        upper = "lt" if lookup == "relative" else "lte"
        return Q(**{f"{path}__gte": low, f"{path}__{upper}": high})
    scalar = _scalar(field, value, actor)
    if field.type == "datetime" and lookup == "eq":
        return Q(**{path: scalar})
    operator = {"eq": "exact", "ne": "exact", "contains": "icontains", "startswith": "istartswith"}.get(
        lookup, lookup
    )
    condition = Q(**{f"{path}__{operator}": scalar})
    return ~condition if lookup == "ne" else condition


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _custom(field: ListField, lookup: str, value: Any, actor: Actor) -> Q:
    definition = field.definition
    key = definition.key

    def one(op: str, item: Any) -> Q:
        return custom_filter(definition.object_type, key, op, item, definition=definition)

    if lookup in CUSTOM_UNSUPPORTED:
        raise _Bad(_("This condition is not available for this field."), "lookup")
    if lookup == "isnull":
        return one("isnull", "true" if _flag(value) else "false")
    if lookup in {"between", "relative"}:
        low, high = _bounds(field, lookup, value, actor)
        return one("gte", _iso(low)) & one("lt" if lookup == "relative" else "lte", _iso(high))
    if lookup == "in":
        return one("in", [_iso(v) if field.type != "user" else v for v in _values(field, value, actor)])
    scalar = _scalar(field, value, actor)
    if field.type == "number":
        scalar = str(scalar)
    return one(lookup, _iso(scalar))


def _condition(node: dict, path: str, fields: dict[str, ListField], actor: Actor, errors: list) -> Q:
    name = node.get("field")
    field = fields.get(name) if isinstance(name, str) else None
    if field is None:
        errors.append(FieldError(f"{path}.field", _("Unknown field."), "unknown"))
        return Q()
    lookup = node.get("lookup") or field.lookups[0]
    if lookup not in field.lookups:
        errors.append(
            FieldError(f"{path}.lookup", _("Choose one of: %s.") % ", ".join(field.lookups), "invalid_choice")
        )
        return Q()
    value = node.get("value")
    try:
        if field.condition is not None:
            return field.condition(actor, lookup, _scalar(field, value, actor))
        if field.definition is not None:
            return _custom(field, lookup, value, actor)
        return _standard(field, lookup, value, actor)
    except _Bad as bad:
        errors.append(FieldError(f"{path}.{bad.suffix}", bad.message, "invalid"))
    except ValidationFailed as failed:  # from custom_filter: re-addressed to this condition
        errors.extend(FieldError(f"{path}.value", d.message, d.code) for d in failed.details)
    return Q()


def _group(node: Any, path: str, depth: int, fields, actor: Actor, errors: list, counter: list) -> Q:
    if not isinstance(node, dict):
        errors.append(FieldError(path, _("Expected a group or a condition."), "invalid"))
        return Q()
    if "field" in node:
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            errors.append(FieldError(path, _("At most %d conditions.") % MAX_CONDITIONS, "too_many"))
            return Q()
        return _condition(node, path, fields, actor, errors)
    if depth > MAX_DEPTH:
        errors.append(FieldError(path, _("Groups nest at most %d levels deep.") % MAX_DEPTH, "too_deep"))
        return Q()
    op = node.get("op", "and")
    if op not in {"and", "or"}:
        errors.append(FieldError(f"{path}.op", _("Choose “and” or “or”."), "invalid_choice"))
        return Q()
    children = node.get("conditions", [])
    if not isinstance(children, list):
        errors.append(FieldError(f"{path}.conditions", _("Expected a list."), "invalid"))
        return Q()
    combined = Q()
    for i, child in enumerate(children):
        part = _group(child, f"{path}.conditions.{i}", depth + 1, fields, actor, errors, counter)
        combined = (combined | part) if op == "or" else (combined & part)
    return combined


def compile_filters(actor: Actor, config: ListConfig, spec: dict | None, *, prefix: str = "filters") -> Q:
    """The ``Q`` of ``spec`` for ``config``'s records; ``ValidationFailed`` listing every bad part."""
    if not spec:
        return Q()
    errors: list[FieldError] = []
    condition = _group(spec, prefix, 1, available_fields(actor, config), actor, errors, [0])
    if errors:
        raise ValidationFailed(errors)
    return condition


def describe(actor: Actor, config: ListConfig, spec: dict | None) -> str:
    """A short human description of a spec (for audit entries and job descriptions)."""
    if is_empty(spec):
        return ""
    fields = available_fields(actor, config)

    def text(node: dict) -> str:
        if "field" in node:
            field = fields.get(node.get("field"))
            label = str(field.label) if field else str(node.get("field"))
            lookup = str(LOOKUP_LABELS.get(node.get("lookup", ""), node.get("lookup", "")))
            value = node.get("value")
            shown = (
                "" if value is None else (", ".join(map(str, value)) if isinstance(value, list) else value)
            )
            return f"{label} {lookup} {shown}".strip()
        joiner = f" {_('or') if node.get('op') == 'or' else _('and')} "
        return "(" + joiner.join(text(c) for c in node.get("conditions", []) if isinstance(c, dict)) + ")"

    return text(spec)[:500]
