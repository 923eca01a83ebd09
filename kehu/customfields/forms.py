"""Custom fields in Django forms: one ``custom__<key>`` form field per field the actor may change.

A record form calls ``add_custom_fields(form, actor, object_type, record)`` in ``__init__`` and
``clean_custom_form(form, cleaned_data)`` in ``clean()``; the latter validates with the service's
rules (errors land on the right form field) and puts the values in ``cleaned_data["custom"]``.
"""

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.dateparse import parse_datetime

from kehu.core.errors import ValidationFailed
from kehu.core.pickers import RecordPickerField, picker_url
from kehu.workspaces.access import Actor, visible

from .models import FieldDefinition, FieldType
from .queries import model_for, writable
from .services import clean_custom_values

PREFIX = "custom__"
RELATION_CHOICES_LIMIT = 200


def _member_choices() -> list[tuple[str, str]]:
    from kehu.workspaces.models import Membership

    members = Membership.objects.filter(is_active=True).select_related("user").order_by("user__name")
    return [("", "—")] + [(str(m.user_id), str(m.user)) for m in members]


def _relation_field(actor: Actor, d: FieldDefinition, current: Any, common: dict) -> forms.Field:
    """A search picker over the records the actor may see (a select of the most recent ones for a
    target whose app serves no picker endpoint)."""
    model = model_for(d.target)
    if model is None:
        return forms.ChoiceField(choices=[("", "—")], **common)
    qs = visible(actor, model.objects.all())
    url = picker_url(d.target)
    if url:
        return RecordPickerField(search_url=url, queryset=qs, **common)
    records = list(qs.order_by("-updated_at")[:RELATION_CHOICES_LIMIT])
    if current and all(r.pk != current for r in records):
        records += list(qs.filter(pk=current))
    return forms.ChoiceField(
        choices=[("", "—"), *sorted(((str(r.pk), str(r)) for r in records), key=lambda c: c[1])], **common
    )


def _local_datetime(value: Any, time_zone: str) -> str:
    parsed = parse_datetime(str(value or "").replace("Z", "+00:00"))
    if parsed is None:
        return ""
    return parsed.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%dT%H:%M")


def form_field(actor: Actor, d: FieldDefinition, current: Any) -> forms.Field:
    """The Django form field of one definition (rules are checked by the service, not here)."""
    common = {"label": d.label, "required": False, "help_text": d.help_text}
    kind = d.field_type
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=False, **common)
    if kind in {FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT}:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.DATETIME:
        return forms.CharField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common)
    if kind == FieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == FieldType.SINGLE_SELECT:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c["value"], c["label"]) for c in d.choices], **common
        )
    if kind == FieldType.MULTI_SELECT:
        return forms.MultipleChoiceField(
            choices=[(c["value"], c["label"]) for c in d.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if kind == FieldType.USER:
        return forms.ChoiceField(choices=_member_choices(), **common)
    if kind == FieldType.RELATION:
        return _relation_field(actor, d, current, common)
    attrs = {"type": {"url": "url", "email": "email", "phone": "tel"}.get(kind, "text")}
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def add_custom_fields(form: forms.Form, actor: Actor, object_type: str, record=None) -> None:
    """Add the fields the actor may change, filled from ``record`` (or the defaults on a new one)."""
    defs = writable(actor, object_type)
    values = dict(getattr(record, "custom", None) or {}) if record is not None else {}
    time_zone = actor.workspace.time_zone
    for d in defs:
        current = values.get(d.key) if record is not None else d.default
        field = form_field(actor, d, current)
        if d.required:
            field.label = f"{d.label} *"
            field.widget.attrs["aria-required"] = "true"
        if d.field_type == FieldType.DATETIME:
            current = _local_datetime(current, time_zone)
        elif isinstance(current, int | float) and not isinstance(current, bool):
            current = str(current)
        field.initial = current
        form.fields[f"{PREFIX}{d.key}"] = field
    form._custom_fields = (actor, object_type, record, [d.key for d in defs])


def clean_custom_form(form: forms.Form, cleaned: dict) -> dict:
    """Move ``custom__<key>`` values into ``cleaned["custom"]``, validated with the service's rules."""
    state = getattr(form, "_custom_fields", None)
    if state is None:
        return cleaned
    actor, object_type, record, keys = state
    submitted = {}
    for key in keys:
        name = f"{PREFIX}{key}"
        if name in cleaned:
            submitted[key] = cleaned.pop(name)
    try:
        clean_custom_values(actor, object_type, submitted, instance=record, partial=record is not None)
    except ValidationFailed as failed:
        for error in failed.details:
            name = PREFIX + error.field.removeprefix("custom.")
            form.add_error(name if name in form.fields else None, str(error.message))
    cleaned["custom"] = submitted
    return cleaned
