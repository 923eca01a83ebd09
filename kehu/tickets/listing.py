"""Tickets described for the list machinery (``kehu.listviews``): fields, columns (the SLA badge from
the row's columns), sort keys, bulk actions, the queue's quick tabs, and the global search group."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register, stamp_cell
from kehu.workspaces.access import Actor

from . import services
from .models import Ticket
from .queries import breached_condition, tickets_for

SLA_STATES = (
    ("breached", _("Breached")),
    ("paused", _("Paused")),
    ("running", _("Running")),
    ("none", _("No SLA")),
)
SLA_LABELS = {
    "met": pgettext_lazy("sla badge", "Met"),
    "ok": pgettext_lazy("sla badge", "On track"),
    "warning": pgettext_lazy("sla badge", "At risk"),
    "breached": pgettext_lazy("sla badge", "Breached"),
    "paused": pgettext_lazy("sla badge", "Paused"),
}
SLA_TONES = {
    "met": "badge-success",
    "ok": "",
    "warning": "badge-warning",
    "breached": "badge-danger",
    "paused": "badge-muted",
}
PRIORITY_TONES = {"urgent": "badge-danger", "high": "badge-warning", "low": "badge-muted"}
STATUS_TONES = {
    "reopened": "badge-warning",
    "resolved": "badge-success",
    "closed": "badge-muted",
    "pending": "badge-muted",
    "on_hold": "badge-muted",
}


def sla_badge(ticket) -> str:
    state = ticket.sla_state()
    if not state:
        return "—"
    return format_html(
        '<span class="badge {} sla-{}" data-sla="{}">{}</span>',
        SLA_TONES[state],
        state,
        state,
        SLA_LABELS[state],
    )


def _sla_condition(actor: Actor, lookup: str, value: str):
    from django.db.models import Q

    condition = {
        "breached": breached_condition(),
        "paused": Q(sla_paused_at__isnull=False),
        "running": Q(sla_policy__isnull=False, sla_paused_at__isnull=True, resolved_at__isnull=True)
        & ~breached_condition(),
        "none": Q(sla_policy__isnull=True),
    }[value]
    return ~condition if lookup == "ne" else condition


def _number(record, context):
    return format_html('<a href="{}">#{}</a>', reverse("tickets:detail", args=[record.pk]), record.number)


def _subject(record, context):
    return format_html('<a href="{}">{}</a>', reverse("tickets:detail", args=[record.pk]), record.subject)


def _status(record, context):
    return format_html(
        '<span class="badge {}">{}</span>', STATUS_TONES.get(record.status, ""), record.get_status_display()
    )


def _priority(record, context):
    return format_html(
        '<span class="badge {}">{}</span>',
        PRIORITY_TONES.get(record.priority, ""),
        record.get_priority_display(),
    )


def _customer_value(record) -> str:
    parts = [str(p) for p in (record.contact, record.account) if p is not None]
    return " · ".join(parts) or record.requester_name or record.requester_email


def _customer(record, context):
    if record.account_id and record.account is not None:
        link = format_html(
            '<a href="{}">{}</a>',
            reverse("customers:account-detail", args=[record.account_id]),
            record.account,
        )
        return format_html("{} · {}", record.contact, link) if record.contact_id else link
    if record.contact_id and record.contact is not None:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("customers:contact-detail", args=[record.contact_id]),
            record.contact,
        )
    return format_html("{}", record.requester_name or record.requester_email or "—")


created_value, created_html = stamp_cell("created_at", with_time=True)
updated_value, updated_html = stamp_cell("updated_at", with_time=True)


def _due_value(record):
    from .sla import next_due

    return next_due(record)


def _due_html(record, context):
    due = _due_value(record)
    if due is None:
        return "—"
    from django.utils import timezone

    return format_html(
        '<time datetime="{}">{}</time>', due.isoformat(), timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    )


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices)


TICKET_LIST = ListConfig(
    object_type=Ticket.object_type,
    model=Ticket,
    label=_("Tickets"),
    list_url_name="tickets:list",
    queryset=tickets_for,
    fields=[
        ListField("number", _("Number"), "number"),
        ListField("subject", _("Subject"), "text"),
        ListField("status", _("Status"), "choice", choices=_choices(Ticket.Status.choices)),
        ListField("priority", _("Priority"), "choice", choices=_choices(Ticket.Priority.choices)),
        ListField("type", _("Type"), "choice", choices=_choices(Ticket.Type.choices)),
        ListField("channel", _("Channel"), "choice", choices=_choices(Ticket.Channel.choices)),
        ListField("category", _("Category"), "text"),
        ListField("sla", _("SLA"), "choice", choices=SLA_STATES, condition=_sla_condition, only=("eq", "ne")),
        ListField("owner", _("Assignee"), "user", path="owner_id", nullable=True),
        ListField("team", _("Queue (team id)"), "relation", path="team_id", nullable=True),
        ListField("account.name", _("Account"), "text"),
        ListField("contact.name", _("Contact"), "text"),
        ListField("language", _("Language"), "text"),
        ListField("severity", _("Severity"), "choice", choices=_choices(Ticket.Severity.choices)),
        ListField("root_cause", _("Root cause"), "choice", choices=_choices(Ticket.RootCause.choices)),
        ListField("outcome", _("Outcome"), "choice", choices=_choices(Ticket.Outcome.choices)),
        ListField("satisfaction", _("Satisfaction"), "number", nullable=True),
        ListField("first_response_due_at", _("First response due"), "datetime", nullable=True),
        ListField("resolution_due_at", _("Resolution due"), "datetime", nullable=True),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
    ],
    columns=[
        Column("number", _("Number"), lambda r: r.number, _number, sort="number"),
        Column("subject", _("Subject"), lambda r: r.subject, _subject),
        Column("sla", _("SLA"), lambda r: r.sla_state(), lambda r, c: sla_badge(r)),
        Column("priority", _("Priority"), lambda r: r.get_priority_display(), _priority),
        Column("status", _("Status"), lambda r: r.get_status_display(), _status),
        Column("owner", _("Assignee"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("team", _("Queue"), lambda r: str(r.team) if r.team_id else ""),
        Column("customer", _("Customer"), _customer_value, _customer),
        Column("type", _("Type"), lambda r: r.get_type_display()),
        Column("category", _("Category"), lambda r: r.category),
        Column("channel", _("Channel"), lambda r: r.get_channel_display()),
        Column("due", _("Next due"), _due_value, _due_html),
        Column("created_at", _("Created"), created_value, created_html, sort="created_at"),
        Column("updated_at", _("Updated"), updated_value, updated_html),
    ],
    default_columns=[
        "number",
        "subject",
        "sla",
        "priority",
        "status",
        "owner",
        "team",
        "customer",
        "created_at",
    ],
    # created_at: (workspace, -created_at, -id) and the queue/status/owner indexes end with it.
    orderings={"created_at": "created_at", "number": "number"},
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign"),
            "change",
            lambda actor, record, value: services.assign(actor, record, user=value, team=record.team_id),
            "user",
        ),
        BulkAction(
            "resolve",
            _("Mark as resolved"),
            "change",
            lambda actor, record, value: services.change_status(actor, record, Ticket.Status.RESOLVED),
        ),
        BulkAction(
            "close",
            _("Close"),
            "change",
            lambda actor, record, value: services.change_status(actor, record, Ticket.Status.CLOSED),
        ),
    ],
)

OPEN = [s for s in services.OPEN_STATUSES]


def _spec(*conditions: dict) -> dict:
    return {"op": "and", "conditions": list(conditions)}


_open = {"field": "status", "lookup": "in", "value": OPEN}
# The queue's quick tabs: filter specs with a sort, so a tab can be refined and saved as a view.
TICKET_TABS = {
    "mine": (
        _("My open tickets"),
        _spec({"field": "owner", "lookup": "eq", "value": "me"}, _open),
        "-created_at",
    ),
    "unassigned": (
        _("Unassigned"),
        _spec({"field": "owner", "lookup": "isnull", "value": True}, _open),
        "-created_at",
    ),
    "breached": (
        _("Breached"),
        _spec({"field": "sla", "lookup": "eq", "value": "breached"}, _open),
        "-created_at",
    ),
    "open": (_("All open"), _spec(_open), "-created_at"),
    "complaints": (
        _("Complaints"),
        _spec({"field": "type", "lookup": "eq", "value": "complaint"}),
        "-created_at",
    ),
}


def register_lists() -> None:
    register(TICKET_LIST)


def register_search() -> None:
    """Tickets in the global search (number "#123", subject, requester email)."""
    from urllib.parse import quote

    from kehu.listviews.search import SearchGroup, register_search

    register_search(
        SearchGroup(
            key="tickets",
            label=_("Tickets"),
            object_type=Ticket.object_type,
            search=lambda actor, q, limit: list(
                tickets_for(actor, q).select_related(None).order_by("-created_at", "-id")[:limit]
            ),
            url=lambda r: reverse("tickets:detail", args=[r.pk]),
            title=lambda r: f"#{r.number} {r.subject}",
            details=lambda r: [r.get_status_display(), r.requester_name],
            more_url=lambda q: reverse("tickets:list") + "?q=" + quote(q),
            order=60,
        )
    )
