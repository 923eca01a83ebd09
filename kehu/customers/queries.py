"""Scoped reads of accounts and contacts for views, the API and exports."""

from django.db.models import Q, QuerySet

from kehu.workspaces.access import Actor, visible

from .models import Account, Contact
from .normalize import normalize_email


def search_condition(q: str) -> Q:
    """Name contains ``q``, or the email is ``q``, or the phone contains its digits (4 or more)."""
    q = q.strip()
    condition = Q(name__icontains=q)
    try:
        if email := normalize_email(q):
            condition |= Q(email=email)
    except ValueError:
        pass
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4:
        condition |= Q(phone__contains=digits.lstrip("0"))
    return condition


def accounts_for(actor: Actor, q: str = "") -> QuerySet[Account]:
    qs = visible(actor, Account.objects.select_related("owner", "team"))
    return qs.filter(search_condition(q)) if q.strip() else qs


def contacts_for(actor: Actor, q: str = "", account: Account | None = None) -> QuerySet[Contact]:
    qs = visible(actor, Contact.objects.select_related("owner", "account"))
    if account is not None:
        qs = qs.filter(account=account)
    return qs.filter(search_condition(q)) if q.strip() else qs
