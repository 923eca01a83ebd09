"""Normalisation of contact points: phones to E.164, emails lower-cased and validated."""

from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form of ``raw`` (national numbers read in ``default_region``); ValueError if invalid."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("“%(value)s” is not a phone number.") % {"value": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, default_region: str) -> str:
    """National format for numbers of the workspace's region, international for the rest."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == default_region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def normalize_email(raw: str) -> str:
    """Trimmed, lower-cased, validated email; ValueError if invalid."""
    value = (raw or "").strip().lower()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(_("“%(value)s” is not a valid email address.") % {"value": raw}) from None
    return value


@lru_cache(maxsize=65536)  # Chinese names repeat a lot (王伟, 李娜 …): bulk imports compute each once
def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower-case without spaces: 张伟 → ("zhangwei", "zw").

    Latin words pass through (lower-cased), so mixed names such as "Northwind 贸易" still match.
    """
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(name, errors="default")).lower()
    initials = "".join(
        word[:1] for word in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if word.strip()
    ).lower()
    return "".join(full.split())[:400], "".join(initials.split())[:100]
