"""Template filters for customer data."""

from django import template

from kehu.core.normalize import display_phone

register = template.Library()


@register.filter
def phone(e164: str, region: str) -> str:
    """An E.164 number as people of ``region`` write it."""
    return display_phone(e164, region)


@register.filter
def point_label(label: str) -> str:
    """The translated label of a phone or email (work, mobile …)."""
    from kehu.customers.models import ContactPoint

    return str(ContactPoint.Label(label).label) if label in ContactPoint.Label.values else label


@register.filter
def relation_role(role: str) -> str:
    """The translated role of a contact at an account (decision maker …)."""
    from kehu.customers.models import AccountContact

    return str(AccountContact.Role(role).label) if role in AccountContact.Role.values else role
