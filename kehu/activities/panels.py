"""The timeline and open-tasks panels of the 360° view (account and contact pages, and the API)."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from . import queries
from .forms import ActivityForm, CommentForm
from .models import Activity, Task
from .services import can_comment

RECORD_TYPES = ("customers.account", "customers.contact")
KIND_FILTERS = [("", _("All")), *Activity.Kind.choices, (queries.COMMENT, _("Comments"))]


def entry_data(entry: queries.Entry) -> dict:
    if entry.activity is not None:
        a = entry.activity
        return {
            "type": "activity",
            "id": a.pk,
            "kind": a.kind,
            "channel": a.channel,
            "direction": a.direction,
            "occurred_at": a.occurred_at,
            "duration": a.duration,
            "subject": a.subject,
            "body": a.body,
            "outcome": a.outcome,
            "owner_id": a.owner_id,
            "source": a.source,
        }
    c = entry.comment
    assert c is not None
    return {
        "type": "comment",
        "id": c.pk,
        "kind": queries.COMMENT,
        "occurred_at": c.created_at,
        "body": c.body,
        "author_id": c.author_id,
    }


def timeline_context(actor: Actor, record, *, form=None, comment_form=None, kind: str = "") -> dict | None:
    if not actor.can("view", Activity.object_type):
        return None
    entries, next_cursor = queries.timeline(actor, record, kind=kind)
    return {
        "entries": entries,
        "next_cursor": next_cursor,
        "kind": kind,
        "kind_filters": KIND_FILTERS,
        "can_log": actor.can("create", Activity.object_type),
        "can_comment": can_comment(actor, record.object_type),
        "form": form or ActivityForm(),
        "comment_form": comment_form or CommentForm(),
        "object_type": record.object_type,
    }


def timeline_data(actor: Actor, record) -> dict:
    if not actor.can("view", Activity.object_type):
        return {"entries": [], "counts": {}}
    entries, next_cursor = queries.timeline(actor, record)
    return {
        "entries": [entry_data(e) for e in entries],
        "counts": queries.kind_counts(actor, record),
        "next_cursor": next_cursor,
    }


def tasks_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Task.object_type):
        return None
    return {
        "tasks": queries.record_tasks(actor, record),
        "can_create_task": actor.can("create", Task.object_type),
        "object_type": record.object_type,
    }


def tasks_data(actor: Actor, record) -> dict:
    tasks = queries.record_tasks(actor, record) if actor.can("view", Task.object_type) else []
    return {
        "open": [
            {
                "id": t.pk,
                "title": t.title,
                "due_at": t.due_at,
                "priority": t.priority,
                "status": t.status,
                "assignee_id": t.assignee_id,
            }
            for t in tasks
        ]
    }


def register() -> None:
    register_panel(
        Panel(
            key="timeline",
            title=_("Timeline"),
            object_types=RECORD_TYPES,
            template="activities/_timeline_panel.html",
            context=timeline_context,
            data=timeline_data,
            order=10,
        )
    )
    register_panel(
        Panel(
            key="tasks",
            title=_("Open tasks"),
            object_types=RECORD_TYPES,
            template="activities/_tasks_panel.html",
            context=tasks_context,
            data=tasks_data,
            order=10,
            column="side",
        )
    )
