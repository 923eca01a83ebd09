"""The score panel of the lead page (a ``Panel`` of the customers panel registry)."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from . import services


def score_panel_context(actor: Actor, lead) -> dict | None:
    """The score, its kind and reasons; both kinds side by side."""
    return {"score": services.explain(actor, lead)}


def score_panel_data(actor: Actor, lead) -> dict:
    return services.explain(actor, lead)


def register() -> None:
    register_panel(
        Panel(
            key="lead_score",
            title=_("Lead score"),
            object_types=("leads.lead",),
            template="scoring/_lead_score_panel.html",
            context=score_panel_context,
            data=score_panel_data,
            order=10,
            column="side",
        )
    )
