"""The audit trail for administrators: the workspace-wide log and one record's history.

Read-only by design: there is no view that edits or deletes an entry.
"""

from functools import wraps

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BooleanField, ForeignKey
from django.http import Http404
from django.shortcuts import render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from kehu.core.api import InvalidCursor, keyset_page

from .models import AuditEntry

PAGE_SIZE = 50


def admin_required(view):
    """A browser session of a member whose role manages the workspace; everyone else gets 404.

    Reads ``request.actor`` (set by the workspaces middleware) without importing that higher app.
    """

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        actor = getattr(request, "actor", None)
        if actor is None or actor.api_key is not None or not actor.can_manage_workspace:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def object_type_label(key: str) -> str:
    """The model's plural name for an "app_label.model" object type, else the key itself."""
    try:
        return str(capfirst(apps.get_model(key)._meta.verbose_name_plural))
    except (LookupError, ValueError):
        return key


def _changes(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """The field diff as (field label, before, after) rows, in the reader's language.

    Field names become the model's verbose names and stored choice values their labels, when the
    entry's object type names a model; anything else is shown as stored.
    """
    model = _model_of(entry.object_type)
    rows = []
    if isinstance(entry.changes, dict):
        for name, value in entry.changes.items():
            before, after = value if isinstance(value, list | tuple) and len(value) == 2 else (None, value)
            label, shown = _field_display(model, name)
            rows.append((label, shown(before), shown(after)))
    return rows


def _related_label(model, pk):
    """The name of a referenced record (an owner, a team …), or its id when it is gone.

    Read through the model's default manager, so a scoped model answers only inside this workspace.
    """
    if pk is None:
        return None
    try:
        found = model._default_manager.filter(pk=pk).first()
    except (TypeError, ValueError):
        found = None
    return str(found) if found is not None else pk


def _model_of(object_type: str):
    try:
        return apps.get_model(object_type) if object_type.count(".") == 1 else None
    except LookupError:
        return None


def _field_display(model, name: str):
    """(label, value formatter) for one field of ``model``."""
    try:
        field = model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        field = None
    if field is None or not hasattr(field, "verbose_name"):
        return name, lambda v: v
    choices = {str(k): label for k, label in (field.flatchoices or [])}
    if isinstance(field, ForeignKey):
        return capfirst(field.verbose_name), lambda v: _related_label(field.related_model, v)
    if isinstance(field, BooleanField):
        return capfirst(field.verbose_name), lambda v: v if v is None else (_("Yes") if v else _("No"))
    return capfirst(field.verbose_name), lambda v: choices.get(str(v), v) if v is not None else v


def _present(entries) -> list[dict]:
    return [
        {"entry": e, "changes": _changes(e), "type_label": object_type_label(e.object_type)} for e in entries
    ]


@admin_required
@require_safe
def log(request):
    """Every entry of the workspace, newest first, filtered; pages by keyset (created_at, id)."""
    entries = AuditEntry.objects.select_related("actor")
    filters = {
        "action": request.GET.get("action", ""),
        "object_type": request.GET.get("object_type", ""),
        "actor": request.GET.get("actor", ""),
    }
    if filters["action"]:
        entries = entries.filter(action=filters["action"])
    if filters["object_type"]:
        entries = entries.filter(object_type=filters["object_type"])
    if filters["actor"].isdigit():
        entries = entries.filter(actor_id=int(filters["actor"]))
    cursor = request.GET.get("cursor") or None
    try:
        page, next_cursor = keyset_page(entries, ordering="-created_at", limit=PAGE_SIZE, cursor=cursor)
    except InvalidCursor:  # a mangled link starts over rather than failing
        cursor = None
        page, next_cursor = keyset_page(entries, ordering="-created_at", limit=PAGE_SIZE)
    next_query = None
    if next_cursor:
        query = request.GET.copy()
        query["cursor"] = next_cursor
        next_query = query.urlencode()
    context = {"rows": _present(page), "next_query": next_query, "filters": filters}
    if request.htmx and cursor:
        return render(request, "audit/log.html#rows", context)
    types = AuditEntry.objects.exclude(object_type="").values_list("object_type", flat=True).distinct()
    context.update(
        actions=AuditEntry.Action.choices,
        object_types=sorted((key, object_type_label(key)) for key in types),
        # Members (past ones too): the people whose actions this workspace's log can hold.
        people=get_user_model().objects.filter(memberships__workspace=request.workspace).order_by("email"),
    )
    return render(request, "audit/log.html", context)


@admin_required
@require_safe
def record_history(request, object_type: str, object_id: str):
    """The latest entries about one record, as a partial that record pages load with htmx."""
    entries = (
        AuditEntry.objects.select_related("actor")
        .filter(object_type=object_type, object_id=object_id)
        .order_by("-created_at", "-id")[:PAGE_SIZE]
    )
    return render(
        request,
        "audit/_record_history.html",
        {"rows": _present(entries), "empty_message": _("No changes recorded yet.")},
    )
