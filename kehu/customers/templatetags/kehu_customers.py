"""Template filters for customer data."""

from django import template

from kehu.customers.normalize import display_phone

register = template.Library()


@register.filter
def phone(e164: str, region: str) -> str:
    """An E.164 number as people of ``region`` write it."""
    return display_phone(e164, region)
