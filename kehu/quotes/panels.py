"""The "Quotes" block of the opportunity page (the customers panel registry, as the 360° view)."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.panels import Panel, register_panel
from kehu.deals.models import Opportunity
from kehu.workspaces.access import Actor

from .models import Quote
from .queries import quotes_of_opportunity


def quotes_context(actor: Actor, opp: Opportunity) -> dict | None:
    if not actor.can("view", Quote.object_type):
        return None
    return {
        "quotes": quotes_of_opportunity(actor, opp.pk),
        "opportunity": opp,
        "can_create": actor.can("create", Quote.object_type),
    }


def quotes_data(actor: Actor, opp: Opportunity) -> dict:
    if not actor.can("view", Quote.object_type):
        return {}
    return {
        "latest": [
            {
                "id": q.pk,
                "number": q.number,
                "version": q.version,
                "status": q.status,
                "total": str(q.total),
                "currency": q.currency,
                "valid_until": q.valid_until.isoformat(),
            }
            for q in quotes_of_opportunity(actor, opp.pk)
        ]
    }


def register() -> None:
    register_panel(
        Panel(
            key="deal_quotes",
            title=_("Quotes"),
            object_types=(Opportunity.object_type,),
            template="quotes/panels/opportunity_quotes.html",
            context=quotes_context,
            data=quotes_data,
            order=5,
        )
    )
