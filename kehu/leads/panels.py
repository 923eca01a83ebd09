"""The lead blocks of other pages: "Leads" on account and contact pages (the leads converted into the
record), through the customers panel registry, since customers cannot import leads."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Contact
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor, visible

from .models import Lead

CUSTOMER_TYPES = ("customers.account", "customers.contact")
PANEL_LIMIT = 10


def converted_leads(actor: Actor, record, limit: int = PANEL_LIMIT) -> tuple[list[Lead], bool]:
    """The leads converted into ``record`` (an account or a contact) that the actor may see, newest
    conversion first, and whether there are more than ``limit``. One query on the foreign key's index."""
    column = "converted_contact" if isinstance(record, Contact) else "converted_account"
    qs = visible(actor, Lead.objects.filter(**{column: record.pk}))
    rows = list(
        qs.only("id", "name", "company", "source", "converted_at").order_by("-converted_at", "-id")[
            : limit + 1
        ]
    )
    return rows[:limit], len(rows) > limit


def converted_context(actor: Actor, record) -> dict | None:
    """Nothing (no panel) when the member may not see leads or none became this record."""
    if not actor.can("view", Lead.object_type):
        return None
    leads, more = converted_leads(actor, record)
    if not leads:
        return None
    return {"leads": leads, "more": more}


def converted_data(actor: Actor, record) -> dict:
    if not actor.can("view", Lead.object_type):
        return {}
    leads, more = converted_leads(actor, record)
    return {
        "more": more,
        "latest": [
            {
                "id": lead.pk,
                "name": lead.name,
                "company": lead.company,
                "source": lead.source,
                "converted_at": lead.converted_at.isoformat() if lead.converted_at else None,
            }
            for lead in leads
        ],
    }


def register() -> None:
    register_panel(
        Panel(
            key="converted_leads",
            title=_("Leads"),
            object_types=CUSTOMER_TYPES,
            template="leads/_converted_leads_panel.html",
            context=converted_context,
            data=converted_data,
            order=30,
            column="side",
        )
    )
