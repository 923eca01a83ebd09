"""The built-in object types (accounts, contacts, leads), their relations, and the record panel."""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from .registry import (
    Relation,
    TypeSpec,
    after_merge,
    register_generic_relation,
    register_relation,
    register_type,
)

CONTACT_MERGE_FIELDS = (
    "name", "name_en", "account", "job_title", "department", "email", "phone", "preferred_channel",
    "preferred_language", "birthday", "social", "consent_email", "consent_sms", "consent_phone",
    "consent_updated_at", "owner", "team",
)  # fmt: skip
ACCOUNT_MERGE_FIELDS = (
    "name", "name_en", "kind", "industry", "size", "source", "status", "parent", "website", "email",
    "phone", "country", "province", "city", "district", "street", "postcode", "description", "owner", "team",
)  # fmt: skip
LEAD_MERGE_FIELDS = (
    "name", "name_en", "title", "company", "email", "phone", "website", "country", "province", "city",
    "industry", "size", "source", "status", "utm_source", "utm_medium", "utm_campaign", "description",
    "owner", "team",
)  # fmt: skip


def contact_city():
    """A contact's city is its primary address's (one indexed lookup per contact)."""
    from kehu.customers.models import Address

    return Subquery(Address.objects.filter(contact=OuterRef("pk"), is_primary=True).values("city")[:1])


def register_builtin() -> None:
    register_type(
        TypeSpec(
            "customers.contact",
            "customers.Contact",
            {
                "name": "name",
                "name_en": "name_en",
                "name_pinyin": "name_pinyin",  # the name's tokens without converting it again
                "company": "account__name",
                "city": "primary_city",
                "email": "email",
                "phone": "phone",
            },
            label=_("contacts"),
            points="contact",
            merge_fields=CONTACT_MERGE_FIELDS,
            url_name="customers:contact-detail",
            annotations={"primary_city": contact_city},
        )
    )
    register_type(
        TypeSpec(
            "customers.account",
            "customers.Account",
            {
                "name": "name",
                "name_en": "name_en",
                "city": "city",
                "street": "street",
                "email": "email",
                "phone": "phone",
            },
            label=_("accounts"),
            organisation=True,
            points="account",
            merge_fields=ACCOUNT_MERGE_FIELDS,
            url_name="customers:account-detail",
        )
    )
    register_type(
        TypeSpec(
            "leads.lead",
            "leads.Lead",
            {
                "name": "name",
                "name_en": "name_en",
                "name_pinyin": "name_pinyin",
                "company": "company",
                "city": "city",
                "email": "email",
                "phone": "phone",
            },
            label=_("leads"),
            merge_fields=LEAD_MERGE_FIELDS,
            url_name="leads:detail",
        )
    )
    # Rows that name any record by (type, id): they follow every merged type.
    register_generic_relation("activities.ActivityLink", "object_type", "object_id", ("activity",))
    register_generic_relation("customers.TaggedRecord", "object_type", "object_id", ("tag",))
    register_generic_relation("activities.Comment", "record_type", "record_id")
    register_generic_relation("activities.Task", "record_type", "record_id")
    register_generic_relation("activities.Notification", "object_type", "object_id")
    register_generic_relation("imports.ImportedRecord", "object_type", "object_id")
    # A merged record's phones, emails and addresses become the survivor's secondary ones.
    for object_type, owner in (("customers.contact", "contact"), ("customers.account", "account")):
        register_relation(
            object_type,
            Relation(
                "customers.ContactPoint", owner, reset={"is_primary": False}, unique_with=("kind", "value")
            ),
        )
        register_relation(object_type, Relation("customers.Address", owner, reset={"is_primary": False}))
        after_merge(object_type, sync_primaries)


def sync_primaries(survivor) -> list:
    """The survivor's primary phone/email rows are the ones equal to its phone/email columns, and it
    has a primary address when it has any."""
    from kehu.customers.models import Address, ContactPoint

    owner = "account" if survivor.object_type == "customers.account" else "contact"
    changed = []
    for kind, value in (("email", survivor.email), ("phone", survivor.phone)):
        points = ContactPoint.objects.filter(**{owner: survivor}, kind=kind)
        wrong = (
            list(points.exclude(is_primary=(True)).filter(value=value).values_list("pk", flat=True))
            if value
            else []
        )
        stale = list(points.filter(is_primary=True).exclude(value=value).values_list("pk", flat=True))
        if stale:
            points.filter(pk__in=stale).update(is_primary=False)
            changed.append(["customers.ContactPoint", stale, {"is_primary": True}])
        if wrong:
            points.filter(pk__in=wrong[:1]).update(is_primary=True)
            changed.append(["customers.ContactPoint", wrong[:1], {"is_primary": False}])
    addresses = Address.objects.filter(**{owner: survivor})
    if not addresses.filter(is_primary=True).exists():  # the survivor had none: a moved one leads
        first = addresses.order_by("id").values_list("pk", flat=True).first()
        if first is not None:
            addresses.filter(pk=first).update(is_primary=True)
            changed.append(["customers.Address", [first], {"is_primary": False}])
    return changed


def panel_context(actor, record_) -> dict | None:
    from .finder import find_duplicates
    from .queries import open_pairs_of

    if not actor.can("change", record_.object_type):
        return None
    hooks_values = _values_of(record_)
    matches = [
        m
        for m in find_duplicates(actor.workspace, record_.object_type, hooks_values, record_.pk, actor=actor)
        if m.visible
    ]
    pending = open_pairs_of(actor, record_)
    if not matches and not pending:
        return None
    return {"matches": matches, "pending": pending}


def panel_data(actor, record_) -> dict:
    context = panel_context(actor, record_) or {"matches": []}
    return {"possible_duplicates": [m.as_dict() for m in context["matches"]]}


def _values_of(record_) -> dict:
    from .hooks import values_of

    return values_of(record_)
