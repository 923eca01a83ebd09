"""Writes: custom field values of records (``clean_custom_values``) and the field definitions themselves.

Every app whose records carry a ``custom`` JSON column calls ``clean_custom_values`` from its own
create/update service, so the UI, the API and imports share the same rules. Definitions are managed
by workspace administrators only; every change is audited.
"""

import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import diff, record, snapshot
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, require_manager

from .models import FieldDefinition, FieldType, FieldValueExport
from .queries import _equals, can_read, can_write, definitions, model_for, supported_object_types
from .validators import EMPTY, Invalid, normalize

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
NO_UNIQUE = {FieldType.BOOLEAN, FieldType.MULTI_SELECT, FieldType.LONG_TEXT}
NO_DEFAULT = {FieldType.RELATION}
VALIDATION_KEYS = {"min", "max", "min_length", "max_length", "pattern"}
PURGE_BATCH = 1000


# The definition's own ``object_type`` field names the records it applies to, so audit entries name
# the definition's type explicitly (else they would land in the history of an account).
AUDIT_TYPE = "customfields.fielddefinition"


def _create(actor: Actor, definition: FieldDefinition) -> FieldDefinition:
    definition.workspace = actor.workspace
    definition.created_by = definition.updated_by = actor.user
    definition.save()
    changes = diff({}, snapshot(definition))
    record(
        AuditEntry.Action.CREATE, actor=actor, instance=definition, object_type=AUDIT_TYPE, changes=changes
    )
    return definition


def _update(actor: Actor, definition: FieldDefinition, values: dict[str, Any]) -> dict:
    before = snapshot(definition)
    for name, value in values.items():
        setattr(definition, name, value)
    changes = diff(before, snapshot(definition))
    if changes:
        definition.updated_by = actor.user
        definition.save()
        record(
            AuditEntry.Action.UPDATE,
            actor=actor,
            instance=definition,
            object_type=AUDIT_TYPE,
            changes=changes,
        )
    return changes


def _delete(actor: Actor, definition: FieldDefinition) -> None:
    changes = diff(snapshot(definition), {})
    record(
        AuditEntry.Action.DELETE, actor=actor, instance=definition, object_type=AUDIT_TYPE, changes=changes
    )
    definition.delete()


# --- values ----------------------------------------------------------------------------------------


def _context(actor: Actor) -> dict[str, Any]:
    workspace = actor.workspace
    return {"actor": actor, "region": workspace.default_region, "time_zone": workspace.time_zone}


def clean_custom_values(
    actor: Actor,
    object_type: str,
    submitted: dict | None,
    *,
    instance=None,
    partial: bool = False,
) -> dict[str, Any]:
    """The record's complete ``custom`` dict after applying ``submitted``; ValidationFailed otherwise.

    - Unknown keys, and keys of fields the actor's role may not see, are errors (``custom.<key>``).
    - Fields the role may see but not change: resubmitting the stored value is accepted (clients echo
      what they read), any other value is an error.
    - Values are normalised per type (see ``validators``); an empty value removes the key.
    - On create (no ``instance``) defaults fill the gaps; required fields the actor can write must
      then have a value. On update, ``partial`` checks only the submitted keys.
    - Unique fields: no other record of the workspace holds the same value.
    Values of fields the actor cannot see stay as they are.
    """
    if submitted is None:
        submitted = {}
    if not isinstance(submitted, dict):
        raise ValidationFailed([FieldError("custom", _("Send custom fields as an object."), "type")])
    everything = {d.key: d for d in definitions(object_type, include_archived=True)}
    current = dict(getattr(instance, "custom", None) or {}) if instance is not None else {}
    result = dict(current)
    errors: list[FieldError] = []
    ctx = _context(actor)
    for key, raw in submitted.items():
        field = f"custom.{key}"
        definition = everything.get(key)
        if definition is None or not can_read(actor, definition):
            errors.append(FieldError(field, _("Unknown custom field."), "unknown"))
            continue
        try:
            value = normalize(definition, raw, ctx)
        except Invalid as exc:
            if can_write(actor, definition):
                errors.append(FieldError(field, str(exc), exc.code))
            else:
                errors.append(FieldError(field, _("You cannot change this field."), "read_only"))
            continue
        unchanged = current.get(key, EMPTY) == value
        if not can_write(actor, definition):
            if not unchanged:
                code = "archived" if definition.archived_at else "read_only"
                message = (
                    _("This field is archived.")
                    if definition.archived_at
                    else _("You cannot change this field.")
                )
                errors.append(FieldError(field, message, code))
            continue
        if value is EMPTY:
            result.pop(key, None)
        else:
            result[key] = value
    active = [d for d in everything.values() if d.archived_at is None]
    creating = instance is None
    if creating:
        for definition in active:
            if definition.key not in submitted and definition.default is not None:
                result[definition.key] = definition.default
    for definition in active:
        if not (definition.required and can_write(actor, definition)):
            continue
        checked = creating or not partial or definition.key in submitted
        if checked and definition.key not in result and not _has_error(errors, definition.key):
            errors.append(FieldError(f"custom.{definition.key}", _("This field is required."), "required"))
    model = model_for(object_type)
    for definition in active:
        key = definition.key
        if not definition.unique or key not in result or _has_error(errors, key):
            continue
        if not creating and current.get(key) == result[key]:
            continue
        # Lock the definition row so two writers of the same unique value queue up (PostgreSQL).
        FieldDefinition.objects.select_for_update().filter(pk=definition.pk).first()
        others = model.objects.filter(workspace=actor.workspace).filter(_equals(definition, result[key]))
        if instance is not None and instance.pk is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            errors.append(FieldError(f"custom.{key}", _("Another record already has this value."), "unique"))
    if errors:
        raise ValidationFailed(errors)
    return result


def _has_error(errors: list[FieldError], key: str) -> bool:
    return any(e.field == f"custom.{key}" for e in errors)


# --- definitions -----------------------------------------------------------------------------------

EDITABLE = {
    "label",
    "options",
    "required",
    "unique",
    "default",
    "help_text",
    "validation",
    "position",
    "visible_to_roles",
    "editable_by_roles",
}


def _role_keys() -> set[str]:
    from kehu.workspaces.models import Role

    return set(Role.objects.values_list("key", flat=True))


def _clean_definition(actor: Actor, values: dict[str, Any], *, instance: FieldDefinition | None) -> dict:
    """Validate a definition's values (all of them on create, the given ones on update)."""
    errors: list[FieldError] = []
    cleaned = dict(values)

    def fail(field: str, message: str, code: str = "invalid") -> None:
        errors.append(FieldError(field, message, code))

    object_type = cleaned.get("object_type") if instance is None else instance.object_type
    field_type = cleaned.get("field_type") if instance is None else instance.field_type
    if instance is None:
        if object_type not in {ot.key for ot in supported_object_types()}:
            fail("object_type", _("This kind of record has no custom fields."), "invalid_choice")
        key = str(cleaned.get("key") or "").strip().lower()
        cleaned["key"] = key
        if not KEY_PATTERN.match(key) or "__" in key:
            fail(
                "key",
                _("Use lower-case letters, digits and single underscores, starting with a letter."),
                "invalid",
            )
        elif FieldDefinition.objects.filter(object_type=object_type, key=key).exists():
            fail("key", _("A field with this key already exists."), "unique")
        if field_type not in FieldType.values:
            fail("field_type", _("Choose one of: %s.") % ", ".join(FieldType.values), "invalid_choice")
    else:
        for name in ("key", "field_type", "object_type"):
            if name in cleaned and cleaned[name] != getattr(instance, name):
                fail(name, _("This cannot be changed after the field is created."), "immutable")
            cleaned.pop(name, None)
    if "label" in cleaned or instance is None:
        cleaned["label"] = " ".join(str(cleaned.get("label") or "").split())[:100]
        if not cleaned["label"]:
            fail("label", _("This field is required."), "required")
    if "help_text" in cleaned:
        cleaned["help_text"] = str(cleaned["help_text"] or "").strip()[:300]
    if "options" in cleaned or instance is None:
        cleaned["options"] = _clean_options(field_type, cleaned.get("options"), fail)
    if "validation" in cleaned:
        cleaned["validation"] = _clean_validation(field_type, cleaned["validation"], fail)
    roles = None
    for name in ("visible_to_roles", "editable_by_roles"):
        if name in cleaned:
            chosen = cleaned[name] or []
            roles = _role_keys() if roles is None else roles
            if not isinstance(chosen, list) or any(r not in roles for r in chosen):
                fail(name, _("Choose roles of this workspace."), "invalid_choice")
            else:
                cleaned[name] = sorted(set(chosen))
    if cleaned.get("unique") and field_type in NO_UNIQUE:
        fail("unique", _("Fields of this type cannot be unique."), "invalid")
    if cleaned.get("position") is not None and (
        not isinstance(cleaned["position"], int) or cleaned["position"] < 0
    ):
        fail("position", _("Enter a whole number, 0 or more."), "invalid")
    if errors:
        raise ValidationFailed(errors)
    if cleaned.get("default") is not None:
        if field_type in NO_DEFAULT:
            raise ValidationFailed([FieldError("default", _("Fields of this type have no default."))])
        probe = FieldDefinition(
            field_type=field_type,
            options=cleaned.get("options", instance.options if instance else {}),
            validation=cleaned.get("validation", instance.validation if instance else {}),
        )
        try:
            value = normalize(probe, cleaned["default"], _context(actor))
        except Invalid as exc:
            raise ValidationFailed([FieldError("default", str(exc), exc.code)]) from None
        cleaned["default"] = None if value is EMPTY else value
    return cleaned


def _clean_options(field_type: str | None, options: Any, fail) -> dict:
    options = options or {}
    if not isinstance(options, dict):
        fail("options", _("Send options as an object."), "type")
        return {}
    if field_type in {FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT}:
        choices, seen = [], set()
        raw = options.get("choices") or []
        if not isinstance(raw, list):
            raw = []
        for i, item in enumerate(raw):
            if isinstance(item, str):
                item = {"value": item, "label": item}
            if not isinstance(item, dict):
                fail(f"options.choices.{i}", _("Each option needs a value and a label."))
                continue
            value = str(item.get("value") or "").strip()
            label = str(item.get("label") or value).strip()
            if not value:
                fail(f"options.choices.{i}.value", _("This field is required."), "required")
            elif value in seen:
                fail(f"options.choices.{i}.value", _("Option values must be different."), "unique")
            else:
                seen.add(value)
                choices.append({"value": value[:100], "label": label[:100]})
        if not choices:
            fail("options.choices", _("Add at least one option."), "required")
        return {"choices": choices}
    if field_type == FieldType.RELATION:
        target = str(options.get("target") or "")
        if target not in {ot.key for ot in supported_object_types()} and model_for(target) is None:
            fail("options.target", _("Choose the kind of record to link to."), "invalid_choice")
        return {"target": target}
    return {}


def _clean_validation(field_type: str | None, rules: Any, fail) -> dict:
    rules = rules or {}
    if not isinstance(rules, dict):
        fail("validation", _("Send validation rules as an object."), "type")
        return {}
    cleaned = {}
    for name, value in rules.items():
        if name not in VALIDATION_KEYS:
            fail(f"validation.{name}", _("Unknown field."), "extra_forbidden")
            continue
        if value in (None, ""):
            continue
        if name == "pattern":
            try:
                re.compile(str(value))
            except re.error:
                fail("validation.pattern", _("This is not a valid regular expression."))
                continue
            cleaned[name] = str(value)
        elif name in {"min_length", "max_length"}:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                fail(f"validation.{name}", _("Enter a whole number, 0 or more."))
                continue
            cleaned[name] = value
        else:  # min / max: numbers, or ISO dates for date fields
            if field_type in {FieldType.DATE, FieldType.DATETIME}:
                cleaned[name] = str(value)
            else:
                try:
                    from decimal import Decimal

                    cleaned[name] = str(Decimal(str(value)))
                except ArithmeticError:
                    fail(f"validation.{name}", _("Enter a number."))
    if "min" in cleaned and "max" in cleaned and field_type not in {FieldType.DATE, FieldType.DATETIME}:
        from decimal import Decimal

        if Decimal(cleaned["min"]) > Decimal(cleaned["max"]):
            fail("validation.max", _("The maximum must not be below the minimum."))
    return cleaned


@transaction.atomic
def create_definition(actor: Actor, **values: Any) -> FieldDefinition:
    """A new custom field; administrators only. Its position is last unless given."""
    require_manager(actor)
    allowed = EDITABLE | {"object_type", "key", "field_type"}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationFailed([FieldError(name, _("Unknown field."), "extra_forbidden") for name in unknown])
    cleaned = _clean_definition(actor, values, instance=None)
    if cleaned.get("position") is None:
        last = FieldDefinition.objects.filter(object_type=cleaned["object_type"]).aggregate(m=Max("position"))
        cleaned["position"] = (last["m"] or 0) + 1
    return _create(actor, FieldDefinition(**cleaned))


@transaction.atomic
def update_definition(actor: Actor, definition: FieldDefinition, **values: Any) -> FieldDefinition:
    """Change label, options, rules, order or visibility. The key and type never change."""
    require_manager(actor)
    unknown = sorted(set(values) - EDITABLE - {"key", "field_type", "object_type"})
    if unknown:
        raise ValidationFailed([FieldError(name, _("Unknown field."), "extra_forbidden") for name in unknown])
    _update(actor, definition, _clean_definition(actor, values, instance=definition))
    return definition


@transaction.atomic
def archive_definition(actor: Actor, definition: FieldDefinition, archived: bool = True) -> FieldDefinition:
    """Hide a field from forms, lists and the API while its values stay in the records."""
    require_manager(actor)
    _update(actor, definition, {"archived_at": timezone.now() if archived else None})
    return definition


@transaction.atomic
def move_definition(actor: Actor, definition: FieldDefinition, direction: int) -> None:
    """Swap the field with its neighbour above (-1) or below (+1) in the form order."""
    require_manager(actor)
    fields = definitions(definition.object_type, include_archived=True)
    # Renumber first so equal positions (fields created in parallel) still move.
    for index, field in enumerate(fields):
        if field.position != index + 1:
            FieldDefinition.objects.filter(pk=field.pk).update(position=index + 1)
            field.position = index + 1
    index = next(i for i, f in enumerate(fields) if f.pk == definition.pk)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(fields):
        return
    a, b = fields[index], fields[other]
    a_pos, b_pos = a.position, b.position
    _update(actor, a, {"position": b_pos})
    _update(actor, b, {"position": a_pos})
    definition.position = b_pos


@transaction.atomic
def delete_definition(actor: Actor, definition: FieldDefinition) -> FieldValueExport:
    """Delete a field: first keep an export of its values, then remove them from records in batches."""
    require_manager(actor)
    model = model_for(definition.object_type)
    values: dict[str, Any] = {}
    if model is not None:
        rows = (
            model.objects.filter(workspace=actor.workspace, custom__has_key=definition.key)
            .order_by("pk")
            .values_list("pk", "custom")
        )
        for pk, custom in rows.iterator(chunk_size=2000):
            values[str(pk)] = (custom or {}).get(definition.key)
    export = FieldValueExport(
        workspace=actor.workspace,
        created_by=actor.user,
        updated_by=actor.user,
        object_type=definition.object_type,
        key=definition.key,
        label=definition.label,
        field_type=definition.field_type,
        values=values,
        count=len(values),
    )
    export.save()
    record(
        AuditEntry.Action.CREATE,
        actor=actor,
        instance=export,
        object_type="customfields.fieldvalueexport",
        changes={"key": [None, definition.key], "count": [None, len(values)]},
    )
    removed = purge_values(actor.workspace, definition.object_type, definition.key) if model else 0
    _delete(actor, definition)
    record(
        AuditEntry.Action.UPDATE,
        actor=actor,
        object_type=definition.object_type,
        changes={f"custom.{definition.key}": [len(values), None], "records": [removed, removed]},
    )
    return export


def purge_values(workspace, object_type: str, key: str, batch_size: int | None = None) -> int:
    """Remove ``key`` from the custom values of every record, ``batch_size`` rows at a time (keyset)."""
    model = model_for(object_type)
    if model is None:
        return 0
    batch_size = batch_size or PURGE_BATCH
    removed, last = 0, 0
    while True:
        rows = list(
            model.objects.filter(workspace=workspace, custom__has_key=key, pk__gt=last)
            .order_by("pk")
            .only("pk", "custom")[:batch_size]
        )
        if not rows:
            return removed
        for row in rows:
            row.custom.pop(key, None)
        model.objects.bulk_update(rows, ["custom"])
        removed += len(rows)
        last = rows[-1].pk


def definition_for(actor: Actor, pk: int) -> FieldDefinition:
    """One definition of the actor's workspace, for administrators; NotFound otherwise."""
    require_manager(actor)
    found = FieldDefinition.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found
