"""Merge 2..N records into one golden record, and undo it exactly.

Every related row moves to the survivor (``registry.relations_for``: foreign keys found in the
installed apps plus registered generic pointers such as timeline links, tags, comments, tasks and
import lineage); a row the survivor already has is removed instead (and restored on undo). The
``MergeRecord`` keeps the losers' full rows and the exact list of touched rows.
"""

from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import delete_record, json_ready, record, update_record
from kehu.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, access_record, require

from .models import Candidate, MergeRecord
from .registry import AFTER_MERGE, relations_for, spec_for

MAX_RECORDS = 10
EMPTY = ("", None, [], {})


def full_row(instance: models.Model) -> dict[str, Any]:
    """Every concrete column of a row by attribute name (``account_id``), JSON-ready."""
    return {f.attname: json_ready(getattr(instance, f.attname)) for f in instance._meta.concrete_fields}


def _row_values(model, row: dict[str, Any]) -> dict[str, Any]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return {name: fields[name].to_python(value) for name, value in row.items() if name in fields}


def _instance(model, row: dict[str, Any]) -> models.Model:
    return model(**_row_values(model, row))


# --- survivorship ---------------------------------------------------------------------------------


def _imported_ids(object_type: str, ids: list[int]) -> set[int]:
    try:
        ImportedRecord = apps.get_model("imports", "ImportedRecord")
    except LookupError:
        return set()
    return set(
        ImportedRecord.objects.filter(
            object_type=object_type, object_id__in=ids, action="created"
        ).values_list("object_id", flat=True)
    )


def default_choices(object_type: str, records: list[models.Model]) -> tuple[int, dict[str, int]]:
    """The default survivor (the most complete record) and, per field, the record whose value wins:
    the most trusted source (entered by hand over imported), then the most recently updated, among
    the records that have a value."""
    spec = spec_for(object_type)
    fields = list(spec.merge_fields) + [f"custom.{k}" for k in _custom_keys(records)]

    def completeness(r) -> int:
        return sum(1 for f in fields if field_value(r, f) not in EMPTY)

    survivor = max(records, key=lambda r: (completeness(r), r.updated_at, -r.pk))
    imported = _imported_ids(object_type, [r.pk for r in records])
    ranked = sorted(records, key=lambda r: (r.pk not in imported, r.updated_at, r.pk), reverse=True)
    choices = {}
    for f in fields:
        having = [r for r in ranked if field_value(r, f) not in EMPTY]
        if not having or (
            field_value(survivor, f) not in EMPTY
            and not (survivor.pk in imported and having[0].pk not in imported)
        ):
            choices[f] = survivor.pk
        else:
            choices[f] = having[0].pk
    consented = [r for r in records if getattr(r, "consent_updated_at", None)]
    if consented:  # consents travel together, from the record where they were given last
        latest = max(consented, key=lambda r: r.consent_updated_at)
        for f in ("consent_email", "consent_sms", "consent_phone", "consent_updated_at"):
            choices[f] = latest.pk
    return survivor.pk, choices


def _custom_keys(records) -> list[str]:
    return sorted({k for r in records for k in (getattr(r, "custom", None) or {})})


def field_value(record_, name: str) -> Any:
    if name.startswith("custom."):
        return (getattr(record_, "custom", None) or {}).get(name.removeprefix("custom."))
    return getattr(record_, record_._meta.get_field(name).attname)


# --- merge ----------------------------------------------------------------------------------------


def load_records(actor: Actor, object_type: str, ids: list[int], action: str) -> list[models.Model]:
    model = spec_for(object_type).model
    return [access_record(actor, model.objects.all(), pk, action) for pk in ids]


@transaction.atomic
def merge(
    actor: Actor,
    object_type: str,
    survivor_id: int,
    merged_ids: list[int],
    values: dict[str, int] | None = None,
) -> MergeRecord:
    """Merge ``merged_ids`` into ``survivor_id``; ``values`` picks, per field, the record whose value
    survives (defaults: ``default_choices``). Needs "change" on every record and "delete" on the
    merged ones; a record the actor may not see answers NotFound."""
    spec = spec_for(object_type)
    model = spec.model
    merged_ids = list(dict.fromkeys(merged_ids))
    if not merged_ids or survivor_id in merged_ids:
        raise ValidationFailed(
            [FieldError("merged", _("Choose at least one other record to merge."), "required")]
        )
    if len(merged_ids) + 1 > MAX_RECORDS:
        raise ValidationFailed(
            [FieldError("merged", _("At most %d records at once.") % MAX_RECORDS, "too_many")]
        )
    require(actor, "change", object_type)
    require(actor, "delete", object_type)
    survivor = access_record(actor, model.objects.select_for_update(), survivor_id, "change")
    losers = load_records(actor, object_type, merged_ids, "delete")
    if any(getattr(r, "converted_at", None) for r in losers):
        raise Conflict(_("A converted lead cannot be merged away; keep it as the surviving record."))
    everyone = {r.pk: r for r in [survivor, *losers]}
    _default_survivor, choices = default_choices(object_type, list(everyone.values()))
    for name, source in (values or {}).items():
        if source not in everyone:
            raise ValidationFailed([FieldError(f"values.{name}", _("Pick one of the merged records."))])
        if name not in choices and not (name.startswith("custom.") or name in spec.merge_fields):
            raise ValidationFailed([FieldError(f"values.{name}", _("This field cannot be chosen."))])
        choices[name] = source
    new_values: dict[str, Any] = {}
    custom = dict(getattr(survivor, "custom", None) or {})
    for name, source in choices.items():
        value = field_value(everyone[source], name)
        if name.startswith("custom."):
            key = name.removeprefix("custom.")
            if value in EMPTY:
                custom.pop(key, None)
            else:
                custom[key] = value
        else:
            field = model._meta.get_field(name)
            if field.is_relation and field.related_model is model and value in everyone:
                value = None  # never the parent of itself
            new_values[field.attname] = value
    if hasattr(survivor, "custom"):
        new_values["custom"] = custom

    merge_row = MergeRecord(
        workspace=actor.workspace,
        object_type=object_type,
        survivor_id=survivor.pk,
        merged_ids=[r.pk for r in losers],
        survivor_before=full_row(survivor),
        losers=[full_row(r) for r in losers],
        created_by=actor.user,
        updated_by=actor.user,
    )
    changed, removed = _move_relations(object_type, survivor, losers)
    for loser in losers:
        delete_record(actor, loser)
    update_record(actor, survivor, new_values)
    for callback in AFTER_MERGE.get(object_type, []):
        changed += callback(survivor) or []
    merge_row.survivor_after = full_row(survivor)
    merge_row.changed, merge_row.removed = changed, removed
    merge_row.moved_count = sum(len(pks) for _label, pks, _old in changed)
    merge_row.save()
    ids = [survivor.pk, *merge_row.merged_ids]
    pairs = Candidate.objects.filter(object_type=object_type, status=Candidate.Status.OPEN)
    pairs.filter(record_a__in=ids, record_b__in=ids).update(status=Candidate.Status.MERGED)
    pairs.filter(Q(record_a__in=merge_row.merged_ids) | Q(record_b__in=merge_row.merged_ids)).delete()
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        instance=survivor,
        changes={"merged": [None, merge_row.merged_ids], "merge": [None, merge_row.pk]},
    )
    return merge_row


def _move_relations(object_type: str, survivor, losers) -> tuple[list, list]:
    """Point every related row of the losers at the survivor; returns (changed, removed)."""
    changed: list = []
    removed: list = []
    loser_ids = [r.pk for r in losers]
    all_ids = [survivor.pk, *loser_ids]
    for rel in relations_for(object_type):
        model = rel.model
        field = model._meta.get_field(rel.field)
        column = field.attname
        kind = {rel.type_field: object_type} if rel.type_field else {}
        rows = model.objects.filter(**kind, **{f"{column}__in": loser_ids})
        if model is spec_for(object_type).model:
            rows = rows.exclude(pk__in=all_ids)
        wanted = ["pk", column, *rel.reset, *[model._meta.get_field(u).attname for u in rel.unique_with]]
        found = list(rows.values(*wanted))
        if not found:
            continue
        conflicts: set = set()
        if rel.unique_with:
            partners = [model._meta.get_field(u).attname for u in rel.unique_with]
            have = set(
                model.objects.filter(**kind, **{column: survivor.pk}).values_list(*partners, named=False)
            )
            if len(partners) == 1:
                have = {(v,) if not isinstance(v, tuple) else v for v in have}
            keep = []
            for row in found:
                key = tuple(row[p] for p in partners)
                if key in have:
                    conflicts.add(row["pk"])
                else:
                    have.add(key)  # two losers with the same row: the second one is removed
                    keep.append(row)
            found = keep
        if conflicts:
            gone = model.objects.filter(pk__in=conflicts)
            removed += [[model._meta.label, full_row(obj)] for obj in gone]
            gone.delete()
        groups: dict[tuple, list[int]] = {}
        for row in found:
            old = (row[column], *(row[k] for k in rel.reset))
            groups.setdefault(old, []).append(row["pk"])
        for old, pks in groups.items():
            before = dict(zip([column, *rel.reset], old, strict=True))
            model.objects.filter(pk__in=pks).update(**{column: survivor.pk}, **rel.reset)
            changed.append([model._meta.label, pks, {k: json_ready(v) for k, v in before.items()}])
    return changed, removed


# --- undo -----------------------------------------------------------------------------------------


@transaction.atomic
def undo(actor: Actor, merge_row: MergeRecord) -> MergeRecord:
    """Restore the merged records with their ids, their rows and links as they were, and the
    survivor's values before the merge."""
    spec = spec_for(merge_row.object_type)
    model = spec.model
    require(actor, "change", merge_row.object_type)
    require(actor, "delete", merge_row.object_type)
    survivor = access_record(actor, model.objects.all(), merge_row.survivor_id, "change")
    if merge_row.undone_at is not None:
        raise Conflict(_("This merge was already undone."))
    later = MergeRecord.objects.filter(
        object_type=merge_row.object_type, undone_at__isnull=True, created_at__gt=merge_row.created_at
    ).filter(survivor_id=survivor.pk)
    if later.exists():
        raise Conflict(_("Undo the later merge into this record first."))
    if model.objects.filter(pk__in=merge_row.merged_ids).exists():
        raise Conflict(_("A merged record exists again; this merge cannot be undone."))
    _recreate(model, merge_row.losers)
    by_model: dict[str, list] = {}
    for label, row in merge_row.removed:
        by_model.setdefault(label, []).append(row)
    for label, rows in by_model.items():
        _recreate(apps.get_model(label), rows)
    for label, pks, old in reversed(merge_row.changed):
        related = apps.get_model(label)
        related.objects.filter(pk__in=pks).update(**_row_values(related, old))
    before = _row_values(model, merge_row.survivor_before)
    after = _row_values(model, merge_row.survivor_after)
    restore = {
        f.name if not f.is_relation else f.attname: before[f.attname]
        for f in model._meta.concrete_fields
        if f.attname in before
        and before[f.attname] != after.get(f.attname)
        and f.attname not in ("updated_at", "updated_by_id")
    }
    update_record(actor, survivor, restore)
    for row in merge_row.losers:
        restored = model.objects.get(pk=row["id"])
        record(
            AuditEntry.Action.CREATE,
            actor=actor,
            instance=restored,
            changes={"unmerged": [merge_row.pk, None]},
        )
    ids = [merge_row.survivor_id, *merge_row.merged_ids]
    Candidate.objects.filter(
        object_type=merge_row.object_type, status=Candidate.Status.MERGED, record_a__in=ids, record_b__in=ids
    ).update(status=Candidate.Status.OPEN)
    merge_row.undone_at = timezone.now()
    merge_row.updated_by = actor.user
    merge_row.save(update_fields=["undone_at", "updated_by", "updated_at"])
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        instance=survivor,
        changes={"unmerged": [merge_row.merged_ids, None]},
    )
    return merge_row


def _recreate(model, rows: list[dict]) -> None:
    """Insert rows with their ids; ``auto_now`` stamps get their stored values back afterwards."""
    model.objects.bulk_create([_instance(model, row) for row in rows])
    stamps = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    for row in rows if stamps else []:
        model.objects.filter(pk=row["id"]).update(
            **_row_values(model, {f.attname: row[f.attname] for f in stamps})
        )


def merge_for(actor: Actor, merge_id: int) -> MergeRecord:
    """A merge the actor may see (its survivor is visible to them); NotFound otherwise."""
    row = MergeRecord.objects.filter(pk=merge_id).first()
    if row is None:
        raise NotFound()
    access_record(actor, spec_for(row.object_type).model.objects.all(), row.survivor_id)
    return row
