"""The finders this app registers with the lower apps' hooks (customers' and leads' create/edit)."""

from typing import Any

from django.utils.translation import gettext as _

from kehu.leads.duplicates import Match as LeadMatch

from .finder import check, find_duplicates
from .registry import TYPES

# Values whose change can make a record a duplicate; other edits skip the check.
RELEVANT = {"name", "name_en", "email", "phone", "phones", "emails", "city", "street", "account_id", "custom"}


def customers_finder(actor, object_type: str, values: dict[str, Any], instance=None) -> list[dict]:
    if object_type not in TYPES:
        return []
    if instance is not None and not any(
        values.get(k) is not None and values[k] != getattr(instance, k, object())
        for k in RELEVANT
        if k in values
    ):
        return []
    spec = TYPES[object_type]
    fields = values_of(instance) if instance is not None else {}
    fields.update({k: v for k, v in values.items() if v is not None})
    if spec.columns.get("company", "").startswith("account__"):
        account_id = values.get("account_id", getattr(instance, "account_id", None))
        if instance is None or account_id != instance.account_id:  # else values_of() already read it
            fields["company"] = _account_name(account_id)
    return check(actor, object_type, fields, exclude=instance.pk if instance is not None else None)


def customers_batch_finder(actor, object_type: str, values_list: list[dict[str, Any]]) -> list[list[dict]]:
    """The bulk-create check: every item's likely duplicates in a few queries; a blocking rule on
    any item refuses the batch with ``items.<i>.<field>`` errors."""
    from kehu.core.errors import FieldError, ValidationFailed

    from .batch import find_duplicates_many
    from .finder import block_error

    if object_type not in TYPES:
        return [[] for _ in values_list]
    spec = TYPES[object_type]
    items = [{k: v for k, v in values.items() if v is not None} for values in values_list]
    if spec.columns.get("company", "").startswith("account__"):
        from kehu.customers.models import Account

        wanted = {i.get("account_id") for i in items if i.get("account_id")}
        names = dict(Account.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
        for item in items:
            item["company"] = names.get(item.get("account_id"), "")
    found = find_duplicates_many(actor.workspace, object_type, items, actor=actor)
    errors = []
    for i, matches in enumerate(found):
        blocking = [m for m in matches if m.action == "block"]
        if blocking:
            error = block_error(blocking[0])
            errors.append(FieldError(f"items.{i}.{error.field}", error.message, error.code))
    if errors:
        raise ValidationFailed(errors, _("This looks like a duplicate."))
    return [[m.as_dict() for m in matches] for matches in found]


def _account_name(account_id) -> str:
    from kehu.customers.models import Account

    if not account_id:
        return ""
    return Account.objects.filter(pk=account_id).values_list("name", flat=True).first() or ""


def leads_finder(workspace, lead_fields: dict[str, Any], exclude_lead_id: int | None) -> list[LeadMatch]:
    """Earlier leads and contacts, by the workspace's lead rules; a blocking rule raises."""
    from kehu.core.errors import ValidationFailed

    from .finder import block_error

    found = []
    for against in ("leads.lead", "customers.contact"):
        matches = find_duplicates(workspace, "leads.lead", lead_fields, exclude_lead_id, against=against)
        blocking = [m for m in matches if m.action == "block"]
        if blocking:
            raise ValidationFailed([block_error(blocking[0])])
        for m in matches:
            reason = next((r for r in ("email", "phone") if r in m.matched_fields), "name_company")
            ids = {"lead_id": m.record_id} if against == "leads.lead" else {"contact_id": m.record_id}
            found.append(LeadMatch(reason, m.score, **ids))
    return found


def values_of(record_) -> dict[str, Any]:
    """The matcher's input values of a saved record (its phones and emails, its company and city)."""
    spec = TYPES[record_.object_type]
    values = {name: getattr(record_, path, "") for name, path in spec.columns.items() if "__" not in path}
    values["custom"] = getattr(record_, "custom", {})
    if "company" in spec.columns and spec.columns["company"].startswith("account__"):
        values["company"] = _account_name(record_.account_id)
    if spec.annotations:
        row = spec.model.objects.filter(pk=record_.pk).annotate(
            **{name: make() for name, make in spec.annotations.items()}
        )
        extra = row.values(*spec.annotations).first() or {}
        for feature, path in spec.columns.items():
            if path in extra:
                values[feature] = extra[path] or ""
    if spec.points:
        from kehu.customers.models import ContactPoint

        for kind, value in ContactPoint.objects.filter(**{spec.points: record_}).values_list("kind", "value"):
            values.setdefault(kind + "s", []).append(value)
    return values
