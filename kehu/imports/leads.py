"""Leads as an import target. imports sits above leads, so the registration lives here (leads cannot
reach the registry): one ``register_target`` call, made by ``ImportsConfig.ready()``.

Rows go through ``kehu.leads.services.bulk_create_leads``, so imported leads get what every new lead
gets: normalised fields, the duplicate check (a match is flagged on the lead, not refused: the
user merges or keeps both) and, for rows without an owner, the assignment rules with their
notification and first-contact task. A lead without a source column is marked "Import".
"""

from django.utils.translation import gettext_lazy

from .targets import (
    Batch,
    Target,
    TargetField,
    bulk_with_retry,
    choices_of,
    field_before,
    find_by_fields,
    full_name,
    register_target,
    resolve_users,
    split_values,
    user_keys,
)

VIRTUAL = ("first_name", "last_name", "owner")


def lead_fields() -> list[TargetField]:
    from kehu.leads.models import Lead

    return [
        TargetField("name", gettext_lazy("Name"), required=True, max_length=200),
        TargetField("first_name", gettext_lazy("First name"), max_length=100),
        TargetField("last_name", gettext_lazy("Last name"), max_length=100),
        TargetField("name_en", gettext_lazy("Latin name"), max_length=200),
        TargetField("title", gettext_lazy("Job title"), max_length=100),
        TargetField("company", gettext_lazy("Company"), max_length=200),
        TargetField("email", gettext_lazy("Email"), "email"),
        TargetField("phone", gettext_lazy("Phone"), "phone"),
        TargetField("website", gettext_lazy("Website"), max_length=200),
        TargetField("country", gettext_lazy("Country"), max_length=2),
        TargetField("province", gettext_lazy("Province / state"), max_length=100),
        TargetField("city", gettext_lazy("City"), max_length=100),
        TargetField("industry", gettext_lazy("Industry"), max_length=100),
        TargetField("size", gettext_lazy("Size"), "choice", choices=choices_of(Lead, "size")),
        TargetField("source", gettext_lazy("Source"), "choice", choices=choices_of(Lead, "source")),
        TargetField("status", gettext_lazy("Status"), "choice", choices=choices_of(Lead, "status")),
        TargetField("disqualified_reason", gettext_lazy("Reason for disqualifying"), max_length=200),
        TargetField("utm_source", gettext_lazy("UTM source"), max_length=100),
        TargetField("utm_medium", gettext_lazy("UTM medium"), max_length=100),
        TargetField("utm_campaign", gettext_lazy("UTM campaign"), max_length=100),
        TargetField("description", gettext_lazy("Description"), "long_text"),
        TargetField("owner", gettext_lazy("Owner (member's email)"), "email"),
    ]


def prepare_leads(batch: Batch) -> None:
    from kehu.leads.models import Lead

    for row in batch.rows:
        item = split_values(row)
        for virtual in VIRTUAL:
            item.pop(virtual, None)
        if not row.values.get("name") and (row.values.get("first_name") or row.values.get("last_name")):
            item["name"] = full_name(row.values.get("first_name") or "", row.values.get("last_name") or "")
        item.setdefault("source", Lead.Source.IMPORT)  # creates only: updates never take ``source``
        row.item = item
    resolve_users(batch, user_keys(batch, Lead.object_type))  # no owner: the assignment rules choose


def register_lead_target() -> None:
    from kehu.leads import services
    from kehu.leads.models import Lead

    register_target(
        Target(
            key="leads",
            label=gettext_lazy("Leads"),
            object_type=Lead.object_type,
            model=Lead,
            base_fields=lead_fields,
            match_keys=("id", "email", "phone"),
            prepare=prepare_leads,
            create=lambda actor, items: bulk_with_retry(services.bulk_create_leads, actor, items),
            update=lambda actor, rec, item: services.update_lead(actor, rec, **item),
            delete=services.delete_lead,
            find=find_by_fields(Lead, {"id": "pk", "email": "email", "phone": "phone"}),
            before=field_before,
            restore=lambda actor, rec, before: services.update_lead(actor, rec, **before),
            # No ``duplicate_keys``: a lead like an earlier one is created and flagged, not refused.
        )
    )
