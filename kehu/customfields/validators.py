"""One validator per custom field type: turn a submitted value into the stored one, or say why not.

Stored forms (JSON): text → str; number → int, or a decimal string when it has a fraction; money →
decimal string with 2 places; percent → like number; date → ``YYYY-MM-DD``; datetime → ISO 8601 in
UTC; boolean → true/false; single select → the option's value; multi select → list of values in
option order; url / email → normalised str; phone → E.164; user → user id; relation → record id.
Empty input (None, "", []) means "no value": the key is removed from the record.
"""

import contextlib
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kehu.core.normalize import normalize_email, normalize_phone

from .models import FieldDefinition, FieldType

TEXT_MAX = 1000
LONG_TEXT_MAX = 20000
EMPTY = object()


class Invalid(ValueError):
    """A value's problem: the message (translated) and a stable code."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


# --- per type --------------------------------------------------------------------------------------


def _text(d: FieldDefinition, value: Any, ctx: dict) -> str:
    if not isinstance(value, str | int | float | Decimal) or isinstance(value, bool):
        raise Invalid(_("Enter text."), "type")
    text = str(value).strip()
    if d.field_type == FieldType.TEXT:
        text = " ".join(text.split())
    limit = TEXT_MAX if d.field_type == FieldType.TEXT else LONG_TEXT_MAX
    rules = d.validation or {}
    max_length = min(int(rules.get("max_length") or limit), limit)
    if len(text) > max_length:
        raise Invalid(_("Must have at most %(n)s characters.") % {"n": max_length}, "max_length")
    if rules.get("min_length") and len(text) < int(rules["min_length"]):
        raise Invalid(_("Must have at least %(n)s characters.") % {"n": rules["min_length"]}, "min_length")
    if rules.get("pattern") and not re.fullmatch(rules["pattern"], text):
        raise Invalid(_("The value has the wrong format."), "pattern")
    return text


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid(_("Enter a number."), "type")
    raw = str(value).strip().replace(",", "").replace(" ", "")
    if isinstance(value, str):
        raw = raw.removesuffix("%")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise Invalid(_("Enter a number."), "type") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 18:
        raise Invalid(_("Enter a number."), "type")
    return number


def _plain_number(number: Decimal) -> int | str:
    if number == number.to_integral_value():
        return int(number)
    return format(number.normalize(), "f")


def _check_range(d: FieldDefinition, number: Decimal) -> None:
    rules = d.validation or {}
    if rules.get("min") not in (None, "") and number < Decimal(str(rules["min"])):
        raise Invalid(_("Must be at least %(n)s.") % {"n": rules["min"]}, "min")
    if rules.get("max") not in (None, "") and number > Decimal(str(rules["max"])):
        raise Invalid(_("Must be at most %(n)s.") % {"n": rules["max"]}, "max")


def _number(d: FieldDefinition, value: Any, ctx: dict) -> int | str:
    number = _decimal(value)
    _check_range(d, number)
    if d.field_type == FieldType.MONEY:
        return str(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return _plain_number(number)


def _date(d: FieldDefinition, value: Any, ctx: dict) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise Invalid(_("Enter a date as YYYY-MM-DD."), "type") from None
    iso = value.isoformat()
    rules = d.validation or {}
    if rules.get("min") and iso < str(rules["min"]):
        raise Invalid(_("Must be on or after %(d)s.") % {"d": rules["min"]}, "min")
    if rules.get("max") and iso > str(rules["max"]):
        raise Invalid(_("Must be on or before %(d)s.") % {"d": rules["max"]}, "max")
    return iso


def _datetime(d: FieldDefinition, value: Any, ctx: dict) -> str:
    if not isinstance(value, datetime):
        text = str(value).strip().replace(" ", "T", 1)
        parsed = None
        with contextlib.suppress(ValueError):
            parsed = parse_datetime(text)
        if parsed is None:
            raise Invalid(_("Enter a date and time as YYYY-MM-DDTHH:MM."), "type")
        value = parsed
    if timezone.is_naive(value):
        # Wall-clock times mean the workspace's time zone.
        value = value.replace(tzinfo=ZoneInfo(ctx.get("time_zone") or "UTC"))
    iso = value.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    rules = d.validation or {}
    if rules.get("min") and iso < str(rules["min"]):
        raise Invalid(_("Must be on or after %(d)s.") % {"d": rules["min"]}, "min")
    if rules.get("max") and iso > str(rules["max"]):
        raise Invalid(_("Must be on or before %(d)s.") % {"d": rules["max"]}, "max")
    return iso


TRUE = {"true", "1", "yes", "on", "y", "t"}
FALSE = {"false", "0", "no", "off", "n", "f"}


def _boolean(d: FieldDefinition, value: Any, ctx: dict) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise Invalid(_("Enter true or false."), "type")


def _choice_values(d: FieldDefinition) -> list[str]:
    return [str(c.get("value")) for c in d.choices]


def _single(d: FieldDefinition, value: Any, ctx: dict) -> str:
    allowed = _choice_values(d)
    if not isinstance(value, str | int) or str(value) not in allowed:
        raise Invalid(_("Choose one of: %s.") % ", ".join(allowed), "invalid_choice")
    return str(value)


def _multi(d: FieldDefinition, value: Any, ctx: dict) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple | set):
        raise Invalid(_("Choose one or more of: %s.") % ", ".join(_choice_values(d)), "type")
    allowed = _choice_values(d)
    chosen = {str(v) for v in value}
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise Invalid(_("Choose one or more of: %s.") % ", ".join(allowed), "invalid_choice")
    rules = d.validation or {}
    if rules.get("min") and len(chosen) < int(rules["min"]):
        raise Invalid(_("Choose at least %(n)s.") % {"n": rules["min"]}, "min")
    if rules.get("max") and len(chosen) > int(rules["max"]):
        raise Invalid(_("Choose at most %(n)s.") % {"n": rules["max"]}, "max")
    return [v for v in allowed if v in chosen]


def _url(d: FieldDefinition, value: Any, ctx: dict) -> str:
    text = str(value).strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise Invalid(_("Enter a valid web address."), "type") from None
    if len(text) > TEXT_MAX:
        raise Invalid(_("Must have at most %(n)s characters.") % {"n": TEXT_MAX}, "max_length")
    return text


def _email(d: FieldDefinition, value: Any, ctx: dict) -> str:
    try:
        return normalize_email(str(value))
    except ValueError as exc:
        raise Invalid(str(exc), "type") from None


def _phone(d: FieldDefinition, value: Any, ctx: dict) -> str:
    try:
        return normalize_phone(str(value), ctx.get("region") or "CN")
    except ValueError as exc:
        raise Invalid(str(exc), "type") from None


def _id(value: Any) -> int:
    if isinstance(value, bool):
        raise Invalid(_("Enter an id."), "type")
    try:
        return int(str(value).strip())
    except ValueError:
        raise Invalid(_("Enter an id."), "type") from None


def _user(d: FieldDefinition, value: Any, ctx: dict) -> int:
    from kehu.workspaces.models import Membership

    user_id = _id(value)
    if (
        ctx.get("check_references", True)
        and not Membership.objects.filter(user_id=user_id, is_active=True, user__is_active=True).exists()
    ):
        raise Invalid(_("Choose an active member of this workspace."), "invalid")
    return user_id


def _relation(d: FieldDefinition, value: Any, ctx: dict) -> int:
    from kehu.workspaces.access import visible

    from .queries import model_for

    pk = _id(value)
    actor = ctx.get("actor")
    if ctx.get("check_references", True) and actor is not None:
        model = model_for(d.target) if d.target else None
        if model is None or not visible(actor, model.objects.filter(pk=pk)).exists():
            raise Invalid(_("Unknown record."), "invalid")
    return pk


VALIDATORS = {
    FieldType.TEXT: _text,
    FieldType.LONG_TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.MONEY: _number,
    FieldType.PERCENT: _number,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.BOOLEAN: _boolean,
    FieldType.SINGLE_SELECT: _single,
    FieldType.MULTI_SELECT: _multi,
    FieldType.URL: _url,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.USER: _user,
    FieldType.RELATION: _relation,
}


def normalize(definition: FieldDefinition, value: Any, ctx: dict) -> Any:
    """The stored form of ``value`` (``EMPTY`` for no value); ``Invalid`` when it does not fit."""
    if is_empty(value):
        return EMPTY
    return VALIDATORS[definition.field_type](definition, value, ctx)


def normalize_for_filter(definition: FieldDefinition, value: Any) -> Any:
    """A filter value in stored form (ranges and references not checked); ValidationFailed if wrong."""
    from kehu.core.errors import FieldError, ValidationFailed

    loose = FieldDefinition(
        field_type=definition.field_type, options=definition.options, key=definition.key, validation={}
    )
    kind = definition.field_type
    if kind == FieldType.MULTI_SELECT:
        kind_value: Any = [value] if isinstance(value, str) else value
        loose.field_type = FieldType.MULTI_SELECT
    else:
        kind_value = value
    ctx: dict[str, Any] = {"check_references": False, "time_zone": "UTC", "region": "CN"}
    if kind in {FieldType.PHONE, FieldType.DATETIME} and definition.workspace_id:
        workspace = definition.workspace
        ctx.update(time_zone=workspace.time_zone, region=workspace.default_region)
    try:
        result = VALIDATORS[kind](loose, kind_value, ctx)
    except Invalid as exc:
        raise ValidationFailed([FieldError(f"custom.{definition.key}", str(exc), exc.code)]) from None
    if kind == FieldType.TEXT and isinstance(value, str):
        return value.strip()
    return result
