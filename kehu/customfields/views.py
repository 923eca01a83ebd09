"""Settings → Custom fields: administrators add, change, order, archive and delete fields.

Pages answer 404 to everyone else (``admin_required``). Views only shape input; the rules live in
``services``.
"""

import csv
import io
import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError
from kehu.workspaces.models import Role
from kehu.workspaces.views import admin_required, show_domain_error

from . import services
from .models import FieldDefinition, FieldType, FieldValueExport
from .queries import definitions, model_for, supported_object_types

SELECTS = {FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT}
NUMBERS = {FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT}
TEXTS = {FieldType.TEXT, FieldType.LONG_TEXT}
DATES = {FieldType.DATE, FieldType.DATETIME}

# Which options each type uses: the form shows a row only for the types listed (see customfields.js).
OPTION_TYPES = {
    "choices": SELECTS,
    "target": {FieldType.RELATION},
    "min": NUMBERS | DATES | {FieldType.MULTI_SELECT},
    "max": NUMBERS | DATES | {FieldType.MULTI_SELECT},
    "min_length": TEXTS,
    "max_length": TEXTS,
    "pattern": {FieldType.TEXT},
    "unique": set(FieldType.values) - services.NO_UNIQUE,
    "default": set(FieldType.values) - services.NO_DEFAULT,
}


def _type_choices():
    return [(ot.key, ot.label) for ot in supported_object_types()]


def _role_choices():
    return [(r.key, r.label) for r in Role.objects.order_by("-is_system", "id")]


class DefinitionForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100)
    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=50,
        help_text=gettext_lazy(
            "Lower-case letters, digits and underscores; used by the API and exports. It cannot change later."
        ),
    )
    field_type = forms.ChoiceField(label=gettext_lazy("Type"), choices=FieldType.choices)
    choices = forms.CharField(
        label=gettext_lazy("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One option per line: “value | label”, or just the label."),
    )
    target = forms.ChoiceField(label=gettext_lazy("Links to"), required=False)
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    unique = forms.BooleanField(label=gettext_lazy("Unique in the workspace"), required=False)
    default = forms.CharField(label=gettext_lazy("Default value"), required=False, max_length=200)
    help_text = forms.CharField(label=gettext_lazy("Help text"), required=False, max_length=300)
    min = forms.CharField(label=gettext_lazy("Minimum"), required=False, max_length=40)
    max = forms.CharField(label=gettext_lazy("Maximum"), required=False, max_length=40)
    min_length = forms.IntegerField(label=gettext_lazy("Minimum length"), required=False, min_value=0)
    max_length = forms.IntegerField(label=gettext_lazy("Maximum length"), required=False, min_value=0)
    pattern = forms.CharField(
        label=gettext_lazy("Pattern"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("A regular expression the whole value must match."),
    )
    visible_to_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Visible to"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every role. Administrators always see every field."),
    )
    editable_by_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Editable by"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every role that sees it."),
    )

    def __init__(self, *args, definition: FieldDefinition | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "—"), *_type_choices()]
        roles = _role_choices()
        self.fields["visible_to_roles"].choices = roles
        self.fields["editable_by_roles"].choices = roles
        self.fields["field_type"].widget.attrs["data-field-type"] = ""
        for name, kinds in OPTION_TYPES.items():
            self.fields[name].widget.attrs["data-for-types"] = " ".join(sorted(kinds))
        if definition is not None:
            for name in ("key", "field_type"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            self.fields["target"].disabled = True

    def values(self) -> dict:
        """The cleaned form in the shape ``services.create_definition`` takes."""
        data = self.cleaned_data
        kind = data.get("field_type")
        options: dict = {}
        if kind in SELECTS:
            options["choices"] = [
                _choice(line) for line in (data["choices"] or "").splitlines() if line.strip()
            ]
        if kind == FieldType.RELATION:
            options["target"] = data.get("target") or ""
        validation = {
            name: data[name]
            for name in ("min", "max", "min_length", "max_length", "pattern")
            if data.get(name)
        }
        return {
            "label": data["label"],
            "options": options,
            "required": data["required"],
            "unique": data["unique"],
            "default": data["default"] or None,
            "help_text": data["help_text"],
            "validation": validation,
            "visible_to_roles": data["visible_to_roles"],
            "editable_by_roles": data["editable_by_roles"],
        }


def _choice(line: str) -> dict:
    value, sep, label = line.partition("|")
    value = value.strip()
    return {"value": value, "label": label.strip() if sep else value}


def _initial(d: FieldDefinition) -> dict:
    rules = d.validation or {}
    return {
        "label": d.label,
        "key": d.key,
        "field_type": d.field_type,
        "choices": "\n".join(
            c["value"] if c["value"] == c["label"] else f"{c['value']} | {c['label']}" for c in d.choices
        ),
        "target": d.target,
        "required": d.required,
        "unique": d.unique,
        "default": ", ".join(d.default)
        if isinstance(d.default, list)
        else (d.default if d.default is not None else ""),
        "help_text": d.help_text,
        **{name: rules.get(name, "") for name in ("min", "max", "min_length", "max_length", "pattern")},
        "visible_to_roles": d.visible_to_roles,
        "editable_by_roles": d.editable_by_roles,
    }


def _object_type(request) -> str:
    keys = [key for key, _label in _type_choices()]
    chosen = request.GET.get("type") or request.POST.get("object_type") or ""
    if chosen and chosen not in keys:
        raise Http404
    return chosen or (keys[0] if keys else "")


def _get(pk: int) -> FieldDefinition:
    found = FieldDefinition.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _index_url(object_type: str) -> str:
    return f"{reverse('customfields:index')}?type={object_type}"


@admin_required
def index(request):
    object_type = _object_type(request)
    context = {
        "types": _type_choices(),
        "object_type": object_type,
        "fields": definitions(object_type, include_archived=True) if object_type else [],
        "exports": FieldValueExport.objects.defer("values").order_by("-created_at")[:20],
        "type_labels": dict(FieldType.choices),
    }
    return render(request, "customfields/index.html", context)


@admin_required
def create(request):
    object_type = _object_type(request)
    form = DefinitionForm(request.POST or None, initial={"field_type": FieldType.TEXT})
    if request.method == "POST" and form.is_valid():
        try:
            definition = services.create_definition(
                request.actor,
                object_type=object_type,
                key=form.cleaned_data["key"],
                field_type=form.cleaned_data["field_type"],
                **form.values(),
            )
        except DomainError as error:
            _show(request, error, form)
        else:
            messages.success(request, _("Custom field “%(label)s” added.") % {"label": definition.label})
            return redirect(_index_url(object_type))
    labels = dict(_type_choices())
    context = {"form": form, "object_type": object_type, "type_label": labels.get(object_type, "")}
    return render(request, "customfields/form.html", context)


@admin_required
def edit(request, pk: int):
    definition = _get(pk)
    form = DefinitionForm(request.POST or None, initial=_initial(definition), definition=definition)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if definition.field_type == FieldType.RELATION:
            values.pop("options")  # the target is fixed once values point at records
        try:
            services.update_definition(request.actor, definition, **values)
        except DomainError as error:
            _show(request, error, form)
        else:
            messages.success(request, _("Custom field “%(label)s” saved.") % {"label": definition.label})
            return redirect(_index_url(definition.object_type))
    labels = dict(_type_choices())
    context = {
        "form": form,
        "definition": definition,
        "object_type": definition.object_type,
        "type_label": labels.get(definition.object_type, ""),
    }
    return render(request, "customfields/form.html", context)


def _show(request, error: DomainError, form: forms.Form) -> None:
    """Service errors on the form: ``options.choices.2.value`` → choices, ``validation.min`` → min."""
    for detail in error.details:
        parts = detail.field.split(".")
        name = parts[1] if parts[0] in {"options", "validation"} and len(parts) > 1 else parts[0]
        form.add_error(name if name in form.fields else None, str(detail.message))
    if not error.details:
        show_domain_error(request, error, form)


@admin_required
@require_POST
def move(request, pk: int):
    definition = _get(pk)
    services.move_definition(request.actor, definition, -1 if request.POST.get("direction") == "up" else 1)
    return redirect(_index_url(definition.object_type))


@admin_required
@require_POST
def archive(request, pk: int):
    definition = _get(pk)
    archived = definition.archived_at is None
    services.archive_definition(request.actor, definition, archived)
    message = _("“%(label)s” archived.") if archived else _("“%(label)s” restored.")
    messages.success(request, message % {"label": definition.label})
    return redirect(_index_url(definition.object_type))


@admin_required
def delete(request, pk: int):
    definition = _get(pk)
    model = model_for(definition.object_type)
    count = model.objects.filter(custom__has_key=definition.key).count() if model else 0
    if request.method == "POST":
        if request.POST.get("confirm_key", "").strip() != definition.key:
            messages.error(request, _("Type the field's key to confirm."))
        else:
            export = services.delete_definition(request.actor, definition)
            messages.success(
                request,
                _("“%(label)s” deleted. Its %(count)s values are kept in an export.")
                % {"label": definition.label, "count": export.count},
            )
            return redirect(_index_url(definition.object_type))
    return render(request, "customfields/delete.html", {"definition": definition, "count": count})


@admin_required
def export_download(request, pk: int, fmt: str):
    export = FieldValueExport.objects.filter(pk=pk).first()
    if export is None or fmt not in {"csv", "json"}:
        raise Http404
    name = f"{export.object_type}-{export.key}-{export.created_at:%Y%m%d}"
    if fmt == "json":
        body = json.dumps(
            {
                "object_type": export.object_type,
                "key": export.key,
                "label": export.label,
                "values": export.values,
            },
            ensure_ascii=False,
            indent=1,
        )
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["record_id", export.key])
        for record_id, value in export.values.items():
            writer.writerow(
                [record_id, json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
