"""Template filters for money and order statuses."""

from django import template
from django.utils.formats import get_format

from kehu.commerce.money import cents, to_decimal

register = template.Library()

STATUS_BADGES = {
    "draft": "badge-muted",
    "confirmed": "",
    "paid": "badge-success",
    "shipped": "badge-success",
    "cancelled": "badge-danger",
    "refunded": "badge-warning",
}


@register.filter
def money(value, currency: str = "") -> str:
    """``1234.5`` → ``1,234.50 CNY`` with the active language's separators.

    Grouping by thousands everywhere: Chinese business documents group money by three digits too
    (Django's zh-Hans format has no thousands separator at all, which makes amounts hard to read).
    """
    number = to_decimal(value)
    if number is None:
        return ""
    text = f"{cents(number):,.2f}"
    decimal_sep = get_format("DECIMAL_SEPARATOR") or "."
    thousand_sep = get_format("THOUSAND_SEPARATOR") or ","
    text = text.replace(",", "\0").replace(".", decimal_sep).replace("\0", thousand_sep)
    return f"{text} {currency}".strip()


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "")


@register.filter
def stars(rating) -> str:
    """A 1–5 rating as stars (★★★☆☆)."""
    n = rating if isinstance(rating, int) and 0 <= rating <= 5 else 0
    return "★" * n + "☆" * (5 - n)
