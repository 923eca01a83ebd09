"""Custom fields on list and detail pages: the filter row, chosen columns and displayed values.

Record pages (accounts, contacts, orders …) call ``list_state(request, queryset)`` in their list
view and add its context; templates use the ``kehu_customfields`` tags.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.utils.translation import gettext_lazy as _

from kehu.core.errors import ValidationFailed
from kehu.workspaces.access import Actor, visible

from .models import FieldDefinition, FieldType
from .queries import custom_filter, display_value, model_for, readable

OPERATOR_LABELS = {
    "eq": _("is"),
    "ne": _("is not"),
    "contains": _("contains"),
    "gt": _("greater than"),
    "gte": _("at least"),
    "lt": _("less than"),
    "lte": _("at most"),
    "isnull": _("is empty"),
}
MAX_COLUMNS = 8


def columns_session_key(object_type: str) -> str:
    return f"customfields:columns:{object_type}"


@dataclass
class ListState:
    defs: list[FieldDefinition]
    columns: list[FieldDefinition]
    key: str = ""
    op: str = "eq"
    value: str = ""
    users: dict[int, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The filter as URL parameters (for "load more" and export links); starts with "&"."""
        if not self.key:
            return ""
        return "&" + urlencode({"cf_key": self.key, "cf_op": self.op, "cf_value": self.value})

    def context(self) -> dict[str, Any]:
        return {
            "custom_defs": self.defs,
            "custom_columns": self.columns,
            "custom_filter": self,
            "custom_operators": list(OPERATOR_LABELS.items()),
            "custom_users": self.users,
        }


def member_names() -> dict[int, str]:
    from kehu.workspaces.models import Membership

    return {m.user_id: str(m.user) for m in Membership.objects.select_related("user")}


def list_state(request, queryset):
    """Apply the page's custom field filter (``cf_key``/``cf_op``/``cf_value``) and column choice.

    The column choice (``?columns=1&col=key…``) is kept per user in the session, per record type.
    Returns the filtered queryset and the ``ListState`` for the templates.
    """
    actor: Actor = request.actor
    object_type = queryset.model.object_type
    defs = readable(actor, object_type)
    by_key = {d.key: d for d in defs}
    session_key = columns_session_key(object_type)
    if request.GET.get("columns"):
        chosen = [k for k in request.GET.getlist("col") if k in by_key][:MAX_COLUMNS]
        request.session[session_key] = chosen
    columns = [by_key[k] for k in request.session.get(session_key, []) if k in by_key]
    state = ListState(defs=defs, columns=columns)
    key = request.GET.get("cf_key", "")
    if key in by_key:
        state.key, state.op = key, request.GET.get("cf_op", "eq")
        state.value = request.GET.get("cf_value", "").strip()[:200]
        value: Any = state.value if state.op != "isnull" else "true"
        if state.op != "isnull" and by_key[key].field_type == FieldType.BOOLEAN and not state.value:
            value = "true"
        try:
            queryset = queryset.filter(
                custom_filter(object_type, key, state.op, value, definition=by_key[key])
            )
        except ValidationFailed as failed:
            messages.error(request, " ".join(str(d.message) for d in failed.details))
            queryset = queryset.none()
    if any(d.field_type == FieldType.USER for d in columns):
        state.users = member_names()
    return queryset, state


def card_rows(actor: Actor, record) -> list[dict[str, Any]]:
    """(label, text, link) of every custom field the actor may read, for the record page."""
    rows = []
    values = getattr(record, "custom", None) or {}
    defs = readable(actor, record.object_type)
    users = member_names() if any(d.field_type == FieldType.USER for d in defs) else None
    for d in defs:
        value = values.get(d.key)
        text, link = display_value(d, value, users=users), ""
        if d.field_type == FieldType.RELATION and value is not None:
            model = model_for(d.target)
            target = visible(actor, model.objects.filter(pk=value)).first() if model else None
            text = str(target) if target else f"#{value}"
            link = _url_of(target) if target else ""
        elif d.field_type == FieldType.URL and value:
            link = value
        rows.append({"definition": d, "label": d.label, "text": text, "link": link, "help": d.help_text})
    return rows


def _url_of(record) -> str:
    getter = getattr(record, "get_absolute_url", None)
    if getter:
        return getter()
    app, _sep, name = record.object_type.partition(".")
    try:
        from django.urls import reverse

        return reverse(f"{app}:{name}-detail", args=[record.pk])
    except Exception:
        return ""
