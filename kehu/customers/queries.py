"""Scoped reads of accounts and contacts for views, the API and exports."""

from django.db.models import Q, QuerySet

from kehu.workspaces.access import Actor, visible

from .models import Account, AccountContact, Contact, ContactPoint, TaggedRecord
from .normalize import normalize_email


def search_condition(q: str, model: type[Account] | type[Contact]) -> Q:
    """Records whose name (Chinese, Latin or pinyin) contains ``q``, whose pinyin initials start with
    it, which have ``q`` as one of their emails, or a phone containing its digits (4 or more)."""
    q = q.strip()
    owner = "account_id" if model is Account else "contact_id"
    condition = Q(name__icontains=q) | Q(name_en__icontains=q)
    latin = "".join(q.lower().split())
    if latin.isascii() and latin.isalpha() and len(latin) >= 2:
        condition |= Q(name_pinyin__contains=latin) | Q(name_initials__startswith=latin)
    try:
        if email := normalize_email(q):
            condition |= Q(email=email) | Q(
                pk__in=ContactPoint.objects.filter(kind="email", value=email).values(owner)
            )
    except ValueError:
        pass
    digits = "".join(ch for ch in q if ch.isdigit()).lstrip("0")
    if len(digits) >= 4:
        condition |= Q(phone__contains=digits) | Q(
            pk__in=ContactPoint.objects.filter(kind="phone", value__contains=digits).values(owner)
        )
    return condition


def with_tag(queryset: QuerySet, tag: str) -> QuerySet:
    """Only the records that carry the tag named ``tag``."""
    tagged = TaggedRecord.objects.filter(object_type=queryset.model.object_type, tag__name=tag)
    return queryset.filter(pk__in=tagged.values("object_id"))


def accounts_for(actor: Actor, q: str = "") -> QuerySet[Account]:
    qs = visible(actor, Account.objects.select_related("owner", "team"))
    return qs.filter(search_condition(q, Account)) if q.strip() else qs


def contacts_for(actor: Actor, q: str = "", account: Account | None = None) -> QuerySet[Contact]:
    qs = visible(actor, Contact.objects.select_related("owner", "account"))
    if account is not None:
        qs = qs.filter(pk__in=AccountContact.objects.filter(account=account).values("contact_id"))
    return qs.filter(search_condition(q, Contact)) if q.strip() else qs
