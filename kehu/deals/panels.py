"""The deals blocks: "Open opportunities" on account and contact pages (360° view), and the timeline
and tasks panels of the opportunity page (the activities app's panels, registered for deals)."""

from django.utils.translation import gettext_lazy as _

from kehu.activities.panels import tasks_context, tasks_data, timeline_context, timeline_data
from kehu.customers.models import Contact
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from .models import Opportunity
from .queries import open_opportunities_of

CUSTOMER_TYPES = ("customers.account", "customers.contact")


def open_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Opportunity.object_type):
        return None
    rows, summary = open_opportunities_of(actor, record)
    account_id = record.account_id if isinstance(record, Contact) else record.pk
    return {
        "opportunities": rows,
        "summary": summary,
        "currency": actor.workspace.base_currency,
        "account_id": account_id or "",
        "can_create": actor.can("create", Opportunity.object_type) and bool(account_id),
    }


def open_data(actor: Actor, record) -> dict:
    if not actor.can("view", Opportunity.object_type):
        return {}
    rows, summary = open_opportunities_of(actor, record)
    return {
        "count": summary["count"],
        "amount": str(summary["amount"]),
        "currency": actor.workspace.base_currency,
        "latest": [
            {
                "id": o.pk,
                "name": o.name,
                "stage_id": o.stage_id,
                "stage": o.stage.name,
                "amount": str(o.amount),
                "currency": o.currency,
                "probability": o.probability,
                "expected_close_date": o.expected_close_date.isoformat() if o.expected_close_date else None,
            }
            for o in rows
        ],
    }


def register() -> None:
    register_panel(
        Panel(
            key="opportunities",
            title=_("Open opportunities"),
            object_types=CUSTOMER_TYPES,
            template="deals/panels/open_opportunities.html",
            context=open_context,
            data=open_data,
            order=20,
        )
    )
    register_panel(
        Panel(
            key="deal_timeline",
            title=_("Timeline"),
            object_types=(Opportunity.object_type,),
            template="activities/_timeline_panel.html",
            context=timeline_context,
            data=timeline_data,
            order=10,
        )
    )
    register_panel(
        Panel(
            key="deal_tasks",
            title=_("Open tasks"),
            object_types=(Opportunity.object_type,),
            template="activities/_tasks_panel.html",
            context=tasks_context,
            data=tasks_data,
            order=10,
            column="side",
        )
    )
