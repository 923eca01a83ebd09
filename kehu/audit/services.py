"""The one audit function every service calls, and helpers to describe a record's change."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest

from kehu.core.ratelimit import client_ip

from .models import AuditEntry

MASK = "••••••"
SECRET_MARKERS = ("password", "secret", "token", "key_hash", "api_key")
EMPTY_VALUES = ("", None, {}, [])  # a new record's blank fields say nothing worth keeping
IGNORED_FIELDS = {"updated_at", "updated_by", "created_at", "created_by", "workspace"}


def is_secret(field_name: str) -> bool:
    return any(marker in field_name for marker in SECRET_MARKERS)


def json_ready(value: Any) -> Any:
    """A field value as JSON stores it (dates ISO, decimals as strings, records by pk): audit diffs and
    merge snapshots keep values this way."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited values of a record: concrete fields by attribute name (FKs as ids)."""
    values = {}
    for f in instance._meta.concrete_fields:
        if f.name in IGNORED_FIELDS or f.primary_key or (fields is not None and f.name not in fields):
            continue
        if not f.editable and not is_secret(f.name):
            continue  # derived values (pinyin keys, totals) follow from the audited ones
        values[f.name] = json_ready(getattr(instance, f.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields that changed, secrets masked."""
    changes = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [MASK, MASK] if is_secret(name) else [old, new]
    return changes


def record(
    action: str,
    *,
    workspace=None,
    actor=None,
    instance: models.Model | None = None,
    object_type: str = "",
    changes: dict | None = None,
    request: HttpRequest | None = None,
    user=None,
    label: str = "",
) -> AuditEntry:
    """Write one audit entry.

    ``actor`` is a ``kehu.workspaces.access.Actor`` (workspace, user and API key come from it);
    security events without an actor pass ``user`` and/or ``label`` instead.
    """
    api_key_prefix = ""
    if actor is not None:
        workspace = workspace or actor.workspace
        user = actor.user
        api_key_prefix = actor.api_key.prefix if actor.api_key else ""
    if instance is not None:
        workspace = workspace or getattr(instance, "workspace", None)
        object_type = object_type or getattr(instance, "object_type", "") or instance._meta.label_lower
    return AuditEntry.objects.create(
        workspace=workspace,
        actor=user,
        actor_label=label or (str(user.email) if user else ""),
        api_key_prefix=api_key_prefix,
        action=action,
        object_type=object_type,
        object_id=str(instance.pk) if instance is not None and instance.pk is not None else "",
        object_repr=str(instance)[:200] if instance is not None else "",
        changes=changes or {},
        ip_address=client_ip(request) if request is not None else None,
    )


# ``object_type`` (create/update/delete_record): the entry's type when the model has an ``object_type``
# column of its own (a saved view's or report's record type), which ``record`` would otherwise take.


def create_record[M: models.Model](actor, instance: M, *, object_type: str = "") -> M:
    """Save a new workspace record as ``actor`` and audit it with all its values."""
    instance.workspace = actor.workspace
    instance.created_by = instance.updated_by = actor.user
    instance.save()
    after = {name: value for name, value in snapshot(instance).items() if value not in EMPTY_VALUES}
    record(
        AuditEntry.Action.CREATE,
        actor=actor,
        instance=instance,
        object_type=object_type,
        changes=diff({}, after),
    )
    return instance


def update_record[M: models.Model](
    actor, instance: M, values: dict[str, Any], *, object_type: str = ""
) -> dict[str, list[Any]]:
    """Apply ``values`` to a record as ``actor``; audit the field diff. Returns the diff."""
    before = snapshot(instance)
    for name, value in values.items():
        setattr(instance, name, value)
    changes = diff(before, snapshot(instance))
    if changes:
        instance.updated_by = actor.user
        instance.save()
        record(
            AuditEntry.Action.UPDATE, actor=actor, instance=instance, object_type=object_type, changes=changes
        )
    return changes


def delete_record(actor, instance: models.Model, *, object_type: str = "") -> None:
    """Delete a record as ``actor``; the audit entry keeps its last values."""
    record(
        AuditEntry.Action.DELETE,
        actor=actor,
        instance=instance,
        object_type=object_type,
        changes=diff(snapshot(instance), {}),
    )
    instance.delete()
