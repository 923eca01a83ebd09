"""Normalisation of contact points, the one place for it: phones to E.164, emails lower-cased.

Every app that takes a phone or an email (customers, custom fields, imports) goes through here.
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# Valid numbers already parsed, (raw, region) → E.164, each result also under its own E.164 form: a
# phone goes through cleansing, the services' validation and the duplicate check, and parsing is
# the dearest step of the three (≈ 30 µs). Bounded; validity never changes within a process.
_PARSED: dict[tuple[str, str], str] = {}
_PARSED_MAX = 1 << 16
# Emails found valid, for the same reason: an imported email is validated by the cleansing, the
# services and the duplicate check (Django's validator ≈ 15 µs each).
_VALID_EMAILS: set[str] = set()


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form of ``raw`` (national numbers read in ``default_region``); ValueError if invalid."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    known = _PARSED.get((raw, default_region))
    if known is not None:
        return known
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("“%(value)s” is not a phone number.") % {"value": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[(raw, default_region)] = _PARSED[(e164, default_region)] = e164
    return e164


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
    if not value or value in _VALID_EMAILS:
        return value
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(_("“%(value)s” is not a valid email address.") % {"value": raw}) from None
    if len(_VALID_EMAILS) >= _PARSED_MAX:
        _VALID_EMAILS.clear()
    _VALID_EMAILS.add(value)
    return value


# Full-width ASCII (ＡＢＣ１２３，＠) is U+FF01–U+FF5E: the same characters 0xFEE0 higher.
_FULL_WIDTH_ALL = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULL_WIDTH_ALNUM = {
    code: code - 0xFEE0
    for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
} | {0x3000: 0x20}


def half_width(text: str, *, punctuation: bool = True) -> str:
    """Full-width letters, digits and spaces to their ASCII forms (punctuation too, unless told not to:
    in Chinese prose "，" and "：" are right and stay)."""
    return text.translate(_FULL_WIDTH_ALL if punctuation else _FULL_WIDTH_ALNUM)
