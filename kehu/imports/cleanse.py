"""Cell cleansing before validation: every cell of a row becomes the value a service expects.

Each converter takes the raw text and returns the cleaned value, or raises ``CellError`` with the
reason. ``Cleaner.clean`` also says whether the value was *corrected* (more than trimmed), so the
preview can highlight it and the report can list it. Phones and emails go through
``kehu.core.normalize`` — the one normaliser; the services validate the result again.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext as _

from kehu.core.normalize import half_width, normalize_email, normalize_phone

FORMULA_START = ("=", "@", "\t=", "\r=")
CURRENCY = re.compile(r"(?i)(rmb|cny|usd|eur|gbp|jpy|hkd|元|[¥$€£￥₩₹])")
TRUE = {"true", "yes", "y", "t", "1", "on", "是", "对", "真", "√", "✓", "x"}
FALSE = {"false", "no", "n", "f", "0", "off", "否", "不", "错", "假"}
DATE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
DATE_CN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
DATE_DOTS = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")  # 25.11.2026: always day first
DATE_SLASH = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(am|pm|AM|PM)?$")


class CellError(ValueError):
    """Why a cell's value cannot be used (translated)."""


def is_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def clean_whitespace(text: str, *, multiline: bool = False) -> str:
    if multiline:
        lines = [
            " ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        ]
        return "\n".join(lines).strip()
    return " ".join(text.split())


def parse_date(text: str, date_order: str = "ymd") -> date:
    """2026-11-25, 2026/11/25, 20261125, 2026年11月25日, 25.11.2026, 11/25/2026 (``date_order``
    "mdy") or 25/11/2026 ("dmy"); an unambiguous day > 12 wins over the order."""
    text = half_width(text).strip()
    text = text.split("T")[0].split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text
    try:
        if m := DATE_ISO.match(text) or DATE_CN.match(text) or DATE_COMPACT.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := DATE_DOTS.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := DATE_SLASH.match(text):
            first, second, year = int(m[1]), int(m[2]), int(m[3])
            day_first = date_order == "dmy"
            if first > 12:
                day_first = True
            elif second > 12:
                day_first = False
            return date(year, second, first) if day_first else date(year, first, second)
    except ValueError:
        pass
    raise CellError(_("“%(value)s” is not a date.") % {"value": text})


def parse_datetime(text: str, date_order: str, time_zone: str) -> datetime:
    text = half_width(text).strip().replace("T", " ", 1)
    day_part, _sep, time_part = text.partition(" ")
    if DATE_CN.match(text):
        day_part, time_part = text, ""
    day = parse_date(day_part, date_order)
    hour = minute = second = 0
    if time_part := time_part.strip().removesuffix("Z"):
        time_part = re.sub(r"[+-]\d{2}:?\d{2}$", "", time_part)
        m = TIME.match(time_part)
        if not m:
            raise CellError(_("“%(value)s” is not a date and time.") % {"value": text})
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if m[4] and m[4].lower() == "pm" and hour < 12:
            hour += 12
        if m[4] and m[4].lower() == "am" and hour == 12:
            hour = 0
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(time_zone))
    except ValueError:
        raise CellError(_("“%(value)s” is not a date and time.") % {"value": text}) from None


def parse_number(text: str) -> Decimal:
    """¥1,234.50, $1,234, 1.234,50 €, (1,234), 1 234,5, 12%: thousands separators and currency
    symbols removed, the decimal separator told from the shape."""
    raw = half_width(text).strip()
    negative = raw.startswith("(") and raw.endswith(")")
    s = CURRENCY.sub("", raw.strip("()")).replace(" ", "").replace("\u00a0", "").replace("'", "")
    s = s.removesuffix("%")
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    s = s.lstrip("+")
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    elif "," in s:
        s = s.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", s) else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        number = Decimal(s)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not a number.") % {"value": text}) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise CellError(_("“%(value)s” is not a number.") % {"value": text})
    return -number if negative else number


def parse_bool(text: str) -> bool:
    value = half_width(text).strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise CellError(_("“%(value)s” is not yes or no (use yes/no, true/false, 是/否, 1/0).") % {"value": text})


def choice_index(options: list[tuple[str, object]]) -> dict[str, str]:
    """Lookup from lower-cased key or label (English and Chinese labels) to the option's key."""
    index: dict[str, str] = {}
    for key, label in options:
        index[str(key).lower()] = str(key)
        for language in ("en", "zh-hans"):
            with translation.override(language):
                index.setdefault(str(label).strip().lower(), str(key))
    return index


def parse_choice(text: str, index: dict[str, str]) -> str:
    value = half_width(text).strip().lower()
    value = unicodedata.normalize("NFKC", value)
    if value in index:
        return index[value]
    choices = ", ".join(sorted(set(index.values())))
    raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": text, "choices": choices})


class Cleaner:
    """Cleans the cells of one job (its region, date order and time zone)."""

    def __init__(self, *, region: str, date_order: str = "ymd", time_zone: str = "UTC") -> None:
        self.region, self.date_order, self.time_zone = region, date_order, time_zone
        self._choices: dict[int, dict[str, str]] = {}

    def clean(self, field, raw: str):
        """(value, correction) where correction is a reason when the value changed beyond trimming,
        ``None`` otherwise. Empty cells give ``None`` value. Raises CellError."""
        kind = field.kind
        trimmed = clean_whitespace(raw, multiline=kind == "long_text")
        if not trimmed:
            return None, None
        if kind in ("text", "long_text", "ref"):
            value = half_width(trimmed, punctuation=False)
            if field.max_length and len(value) > field.max_length:
                raise CellError(_("Longer than %(n)s characters.") % {"n": field.max_length})
            if is_formula(value):
                return value, _("A spreadsheet formula, stored as text (never run).")
            return value, _("Full-width characters made half-width.") if value != trimmed else None
        flat = half_width(trimmed)
        if kind == "phone":
            try:
                value = normalize_phone(flat, self.region)
            except ValueError as exc:
                raise CellError(str(exc)) from None
            return value, None if value == trimmed else _("Phone number to E.164.")
        if kind in ("email", "user"):
            try:
                value = normalize_email(flat.removeprefix("mailto:").strip("<>"))
            except ValueError as exc:
                raise CellError(str(exc)) from None
            return value, None if value == trimmed else _("Email address lower-cased.")
        if kind == "date":
            value = parse_date(flat, self.date_order).isoformat()
            return value, None if value == trimmed else _("Date read as %(date)s.") % {"date": value}
        if kind == "datetime":
            moment = parse_datetime(flat, self.date_order, self.time_zone)
            return moment, None
        if kind in ("number", "money"):
            number = parse_number(flat)
            text = format(number.normalize(), "f") if number == number.to_integral() else str(number)
            return text, None if text == trimmed else _("Number read as %(n)s.") % {"n": text}
        if kind == "bool":
            value = parse_bool(flat)
            return value, None
        if kind == "choice":
            index = self._choices.get(id(field))
            if index is None:
                index = self._choices[id(field)] = choice_index(field.choices)
            value = parse_choice(flat, index)
            return value, None if value == trimmed else _("Matched to option “%(key)s”.") % {"key": value}
        if kind == "multi_choice":
            index = self._choices.get(id(field))
            if index is None:
                index = self._choices[id(field)] = choice_index(field.choices)
            parts = [p for p in re.split(r"[,;，；、|]", flat) if p.strip()]
            return [parse_choice(p, index) for p in parts], None
        raise CellError(f"unknown field kind {kind}")
