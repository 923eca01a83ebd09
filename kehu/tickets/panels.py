"""The "Service tickets" panel of account and contact pages (replacing customers' placeholder under the
same key), and the customer-history side panel of the ticket page."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Contact
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor, visible

from .models import Ticket

CUSTOMER_TYPES = ("customers.account", "customers.contact")
PANEL_LIMIT = 10


def customer_tickets(actor: Actor, record, limit: int = PANEL_LIMIT, exclude: int | None = None):
    """The record's tickets the actor may see, newest first, and whether there are more (one query on
    the (workspace, account|contact, -created_at) index)."""
    column = "contact" if isinstance(record, Contact) else "account"
    qs = visible(actor, Ticket.objects.filter(**{column: record.pk}))
    if exclude:
        qs = qs.exclude(pk=exclude)
    rows = list(
        qs.only(
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "type",
            "created_at",
            "sla_policy_id",
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "resolved_at",
            "sla_paused_at",
            "sla_breached_at",
            "sla_warned_at",
            "satisfaction",
            "owner_id",
        ).order_by("-created_at", "-id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def tickets_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Ticket.object_type):
        return None
    tickets, more = customer_tickets(actor, record)
    return {
        "tickets": tickets,
        "more": more,
        "filter": "contact" if isinstance(record, Contact) else "account",
        "can_create": actor.can("create", Ticket.object_type),
    }


def tickets_data(actor: Actor, record) -> dict:
    if not actor.can("view", Ticket.object_type):
        return {"available": True, "latest": [], "more": False}
    tickets, more = customer_tickets(actor, record)
    return {
        "available": True,
        "more": more,
        "latest": [
            {
                "id": t.pk,
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "priority": t.priority,
                "type": t.type,
                "sla": t.sla_state(),
                "satisfaction": t.satisfaction,
                "created_at": t.created_at.isoformat(),
            }
            for t in tickets
        ],
    }


def register() -> None:
    register_panel(
        Panel(
            key="tickets",
            title=_("Service tickets"),
            object_types=CUSTOMER_TYPES,
            template="tickets/_customer_panel.html",
            context=tickets_context,
            data=tickets_data,
            order=60,
            column="side",
        )
    )
