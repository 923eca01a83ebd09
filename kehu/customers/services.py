"""Writes on accounts and contacts: validation, normalisation, permission checks and audit."""

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import FieldError, ValidationFailed
from kehu.workspaces.access import Actor, require
from kehu.workspaces.models import Membership, Team

from .models import Account, Contact
from .normalize import normalize_email, normalize_phone

ACCOUNT_FIELDS = {
    "name",
    "kind",
    "industry",
    "website",
    "phone",
    "email",
    "city",
    "description",
    "owner_id",
    "team_id",
}
CONTACT_FIELDS = {"name", "account_id", "job_title", "email", "phone", "owner_id", "team_id"}


def _clean(actor: Actor, values: dict[str, Any], *, creating: bool, model) -> dict[str, Any]:
    """Normalise and validate submitted values; raise ValidationFailed listing every bad field."""
    errors: list[FieldError] = []
    cleaned = dict(values)
    region = actor.workspace.default_region
    if "name" in cleaned or creating:
        cleaned["name"] = " ".join(str(cleaned.get("name") or "").split())
        if not cleaned["name"]:
            errors.append(FieldError("name", _("This field is required."), "required"))
    for name, normalize in (("phone", lambda v: normalize_phone(v, region)), ("email", normalize_email)):
        if cleaned.get(name):
            try:
                cleaned[name] = normalize(cleaned[name])
            except ValueError as exc:
                errors.append(FieldError(name, str(exc), "invalid"))
    if "kind" in cleaned and model is Account and cleaned["kind"] not in Account.Kind.values:
        errors.append(
            FieldError("kind", _("Choose one of: %s.") % ", ".join(Account.Kind.values), "invalid_choice")
        )
    if (
        cleaned.get("owner_id") is not None
        and not Membership.objects.filter(user_id=cleaned["owner_id"], is_active=True).exists()
    ):
        errors.append(
            FieldError("owner_id", _("The owner must be an active member of this workspace."), "invalid")
        )
    if cleaned.get("team_id") is not None and not Team.objects.filter(pk=cleaned["team_id"]).exists():
        errors.append(FieldError("team_id", _("Unknown team."), "invalid"))
    if cleaned.get("account_id") is not None:
        from kehu.workspaces.access import visible

        if not visible(actor, Account.objects.filter(pk=cleaned["account_id"])).exists():
            errors.append(FieldError("account_id", _("Unknown account."), "invalid"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_account(actor: Actor, **values: Any) -> Account:
    require(actor, "create", Account.object_type)
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user.pk
    cleaned = _clean(actor, values, creating=True, model=Account)
    return create_record(actor, Account(**cleaned))


@transaction.atomic
def update_account(actor: Actor, account: Account, **values: Any) -> Account:
    require(actor, "change", Account.object_type)
    update_record(actor, account, _clean(actor, values, creating=False, model=Account))
    return account


@transaction.atomic
def delete_account(actor: Actor, account: Account) -> None:
    require(actor, "delete", Account.object_type)
    delete_record(actor, account)


@transaction.atomic
def create_contact(actor: Actor, **values: Any) -> Contact:
    require(actor, "create", Contact.object_type)
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user.pk
    cleaned = _clean(actor, values, creating=True, model=Contact)
    return create_record(actor, Contact(**cleaned))


@transaction.atomic
def update_contact(actor: Actor, contact: Contact, **values: Any) -> Contact:
    require(actor, "change", Contact.object_type)
    update_record(actor, contact, _clean(actor, values, creating=False, model=Contact))
    return contact


@transaction.atomic
def delete_contact(actor: Actor, contact: Contact) -> None:
    require(actor, "delete", Contact.object_type)
    delete_record(actor, contact)


EXPORT_COLUMNS = {
    Account: [
        "id",
        "name",
        "kind",
        "industry",
        "phone",
        "email",
        "website",
        "city",
        "owner__email",
        "created_at",
        "updated_at",
    ],
    Contact: [
        "id",
        "name",
        "account__name",
        "job_title",
        "phone",
        "email",
        "owner__email",
        "created_at",
        "updated_at",
    ],
}


def export_rows(actor: Actor, queryset: QuerySet, *, description: str = "") -> Iterator[list]:
    """Rows (header first) of the records of ``queryset`` the actor may see; the export is audited.

    ``queryset`` must come from the scoped queries (``accounts_for`` …), so record access holds.
    Rows stream in chunks: memory stays flat however many records there are.
    """
    model = queryset.model
    require(actor, "export", model.object_type)
    columns = EXPORT_COLUMNS[model]
    record(
        AuditEntry.Action.EXPORT,
        actor=actor,
        object_type=model.object_type,
        changes={"format": "csv", "filter": description},
    )
    yield columns
    for values in queryset.order_by("pk").values_list(*columns).iterator(chunk_size=2000):
        yield [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
