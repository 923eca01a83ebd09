"""One search picker for choosing a record among hundreds of thousands (accounts, contacts, products …).

A form field ``RecordPickerField`` renders a text box that searches as the user types (``picker.js``,
after IME composition ends, so Chinese input is not searched half-typed), shows ~20 suggestions
navigable with the arrow keys and Enter, and posts the chosen record's id. Without JavaScript it
is a plain box for the record's number. An id the user may not see, or a name typed without picking
a suggestion, gets a field error; nothing is guessed.

Each app serves the suggestions of its own object types with ``picker_response`` (its scoped search,
keyset-limited) at the URL named ``<app>:<model>-pick``, so generic code (custom relation fields)
finds it by object type.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .api import InvalidCursor, keyset_page

PICKER_LIMIT = 20
MAX_QUERY = 100


def picker_url(object_type: str) -> str | None:
    """The search endpoint of ``object_type`` ("customers.account"), or None when no app serves one.

    By convention an app serves its suggestions at the URL named ``<app>:<model>-pick``.
    """
    app_label, _dot, model_name = object_type.partition(".")
    try:
        return reverse(f"{app_label}:{model_name}-pick")
    except NoReverseMatch:
        return None


def picker_query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY]


def picker_response(
    request: HttpRequest,
    queryset,
    *,
    label: Callable[[Any], str] = str,
    detail: Callable[[Any], str] | None = None,
    ordering: str = "name",
) -> JsonResponse:
    """Suggestions as JSON: ``{"results": [{"id", "label", "detail"}], "next": cursor | null}``.

    ``queryset`` is already narrowed to what the actor may see and to the query; at most
    ``PICKER_LIMIT`` rows are read, in ``ordering`` then id, after ``?cursor=`` (no counting).
    """
    try:
        rows, next_cursor = keyset_page(
            queryset, ordering=ordering, limit=PICKER_LIMIT, cursor=request.GET.get("cursor") or None
        )
    except InvalidCursor as error:
        return JsonResponse({"detail": str(error.message)}, status=400)
    results = [{"id": r.pk, "label": label(r), "detail": detail(r) if detail else ""} for r in rows]
    return JsonResponse({"results": results, "next": next_cursor})


class RecordPicker(forms.Widget):
    """The picker's markup: the id box (``name``), the search box (``name__text``) and a listbox."""

    template_name = "core/widgets/picker.html"

    def __init__(self, search_url: str = "", depends: str = "", attrs=None):
        super().__init__(attrs)
        self.search_url = search_url
        self.depends = depends  # "param=field": the value of the form's ``field`` is sent as ``param``
        self.queryset = None  # for the current value's label
        self.labels: dict[int, str] = {}  # labels known in advance (formsets: one query for all rows)
        self.label_of: Callable[[Any], str] = str

    def __deepcopy__(self, memo):
        # Each form gets its own copy of a declared field's widget; the label cache must not be shared
        # with it, or a name looked up for one request (one workspace, one member) would be shown to
        # the next one, and a renamed record would keep its old name.
        copy = super().__deepcopy__(memo)
        copy.labels = {}
        return copy

    def _label(self, value) -> str:
        if value is None or not str(value).isdigit():
            return ""
        pk = int(value)
        if pk not in self.labels and self.queryset is not None:
            found = self.queryset.filter(pk=pk).first()
            self.labels[pk] = self.label_of(found) if found is not None else ""
        return self.labels.get(pk, "")

    def format_value(self, value):
        return "" if value is None else str(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = context["widget"]["value"]
        label = self._label(value)
        context["widget"].update(
            search_url=self.search_url,
            depends=self.depends,
            label=label,
            # A name typed without picking comes back as the value: show it again for correcting.
            text=label if value.isdigit() else value,
            id_value=value if value.isdigit() else "",
        )
        return context

    def value_from_datadict(self, data, files, name):
        """The chosen id; else the text typed in the search box when it is not just the label the
        page showed (without JavaScript that box is hidden and only the id box counts)."""
        chosen = (data.get(name) or "").strip()
        typed = (data.get(f"{name}__text") or "").strip()
        return chosen or ("" if typed == (data.get(f"{name}__shown") or "").strip() else typed)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}__text" not in data


class RecordPickerField(forms.Field):
    """A record chosen by id from ``queryset`` (set it per request: it carries the actor's access)."""

    widget = RecordPicker
    default_error_messages = {
        "invalid": _("“%(value)s” is not a choice: type part of a name and pick one of the suggestions."),
        "unknown": _("There is no record number %(value)s that you may choose."),
    }

    def __init__(self, *, search_url: str = "", depends: str = "", queryset=None, label_of=str, **kwargs):
        super().__init__(**kwargs)
        self.widget.search_url = search_url
        self.widget.depends = depends
        self.widget.label_of = label_of
        self.queryset = queryset

    @property
    def queryset(self):
        return self._queryset

    @queryset.setter
    def queryset(self, value) -> None:
        self._queryset = value
        self.widget.queryset = value

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.queryset = self._queryset
        return result

    def to_python(self, value):
        value = str(value if value is not None else "").strip()
        if not value:
            return None
        if not value.isdigit():
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value}
            )
        return int(value)

    def validate(self, value):
        super().validate(value)
        if value is not None and self._queryset is not None and not self._queryset.filter(pk=value).exists():
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"value": value}
            )
