"""Template filters for quote amounts (in the currency's minor unit) and statuses."""

from django import template
from django.utils.formats import get_format

from kehu.commerce.money import to_decimal, without_trailing_zeros

from ..totals import minor_unit, round_money

register = template.Library()


@register.filter
def quote_money(value, currency: str = "") -> str:
    """``1234.5`` CNY → ``1,234.50 CNY``; JPY without decimals; the language's separators."""
    number = to_decimal(value)
    if number is None:
        return ""
    text = f"{round_money(number, currency):,.{minor_unit(currency)}f}"
    decimal_sep = get_format("DECIMAL_SEPARATOR") or "."
    thousand_sep = get_format("THOUSAND_SEPARATOR") or ","
    text = text.replace(",", "\0").replace(".", decimal_sep).replace("\0", thousand_sep)
    return f"{text} {currency}".strip()


@register.filter
def quote_amount(value, currency: str = "") -> str:
    """Like ``quote_money`` without the currency code (table cells under a currency heading)."""
    text = quote_money(value, currency)
    return text.removesuffix(f" {currency}") if currency else text


@register.filter
def quote_badge(status: str) -> str:
    from ..listing import BADGES

    return BADGES.get(status, "")


@register.filter
def plain(value) -> str:
    """``13.00`` → ``13``, ``1000.0000`` → ``1000`` (no trailing zeros, never ``1E+3``)."""
    number = to_decimal(value)
    return "" if number is None else str(without_trailing_zeros(number))
