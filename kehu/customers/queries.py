"""Scoped reads of accounts and contacts for views, the API and exports."""

import re

from django.contrib.postgres.lookups import DataContains
from django.db import connection
from django.db.models import Func, Q, QuerySet, TextField, Value

from kehu.core.normalize import normalize_email, normalize_phone
from kehu.workspaces.access import Actor, visible

from .models import Account, AccountContact, Contact, ContactPoint, TaggedRecord

PHONE_SHAPE = re.compile(r"^[\d\s+\-().]+$")
# Ids found through the phones/emails table; an exact match never has more, a partial number is capped.
MAX_POINT_MATCHES = 1000


class NameBigrams(Func):
    """``kehu_bigrams(name, name_en)``: the upper-cased two-character pieces of the names, the
    expression of the PostgreSQL GIN index that answers 2-character searches (王伟), which pg_trgm
    cannot (migration 0006)."""

    function = "kehu_bigrams"
    output_field = TextField()  # a text[]; only compared with @> against the same function


def _ids(model, **lookups) -> list[int]:
    owner = "account_id" if model is Account else "contact_id"
    return list(ContactPoint.objects.filter(**lookups).values_list(owner, flat=True)[:MAX_POINT_MATCHES])


def _name_condition(q: str) -> Q:
    condition = Q(name__icontains=q) | Q(name_en__icontains=q)
    if connection.vendor == "postgresql" and len(q) == 2 and not any(ch.isspace() for ch in q):
        # Narrow by the bigram index first; the LIKE above rechecks the candidates.
        bigrams = DataContains(
            NameBigrams("name", "name_en"), NameBigrams(Value(q), Value(""), output_field=TextField())
        )
        condition = Q(bigrams) & condition
    return condition


def search_condition(q: str, model: type[Account] | type[Contact], region: str = "CN") -> Q:
    """Records matching ``q`` by what it looks like:

    - an email address: the records having it as one of their emails (exact, normalised);
    - a phone number (digits and + - ( ) only, 4 digits or more): a complete number in any format
      matches exactly (E.164 in the workspace's ``region``), a partial one every phone containing
      its digits;
    - anything else: the name or Latin name contains it; for Latin letters also the pinyin (3
      letters or more, spaces ignored: "Ming Yuan") or the pinyin initials ("shmy") start with it.

    Each shape has an index on PostgreSQL (btree for exact values, pg_trgm and the bigram index for
    substrings); see docs/performance.md. The results are the same on SQLite (it scans for substrings).
    """
    q = " ".join(q.split())
    if "@" in q:
        try:
            email = normalize_email(q)
        except ValueError:
            return Q(pk__in=[])
        return Q(email=email) | Q(pk__in=_ids(model, kind="email", value=email))
    digits = "".join(ch for ch in q if ch.isdigit())
    if PHONE_SHAPE.match(q) and len(digits.lstrip("0")) >= 4:
        try:
            number = normalize_phone(q, region)
        except ValueError:
            number = ""
        if number:
            return Q(phone=number) | Q(pk__in=_ids(model, kind="phone", value=number))
        digits = digits.lstrip("0")
        return Q(phone__contains=digits) | Q(pk__in=_ids(model, kind="phone", value__contains=digits))
    condition = _name_condition(q)
    latin = "".join(q.lower().split())
    if latin.isascii() and latin.isalpha() and len(latin) >= 2:
        condition |= Q(name_initials__startswith=latin)
        if len(latin) >= 3:
            condition |= Q(name_pinyin__contains=latin)
    return condition


def with_tag(queryset: QuerySet, tag: str) -> QuerySet:
    """Only the records that carry the tag named ``tag``."""
    tagged = TaggedRecord.objects.filter(object_type=queryset.model.object_type, tag__name=tag)
    return queryset.filter(pk__in=tagged.values("object_id"))


def accounts_for(actor: Actor, q: str = "") -> QuerySet[Account]:
    qs = visible(actor, Account.objects.select_related("owner", "team"))
    return qs.filter(search_condition(q, Account, actor.workspace.default_region)) if q.strip() else qs


def contacts_for(actor: Actor, q: str = "", account: Account | None = None) -> QuerySet[Contact]:
    qs = visible(actor, Contact.objects.select_related("owner", "account"))
    if account is not None:
        qs = qs.filter(pk__in=AccountContact.objects.filter(account=account).values("contact_id"))
    return qs.filter(search_condition(q, Contact, actor.workspace.default_region)) if q.strip() else qs
