"""The "predictions" panel of the account page (a ``Panel`` of the customers panel registry)."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from . import queries
from .models import RecommendedAction


def panel_context(actor: Actor, account) -> dict | None:
    return {
        "p": queries.account_data(actor, account),
        "can_act": actor.can("change", RecommendedAction.object_type),
    }


def register() -> None:
    register_panel(
        Panel(
            key="predictions",
            title=_("Predictions"),
            object_types=("customers.account",),
            template="predictions/_panel.html",
            context=panel_context,
            data=queries.account_data,
            order=72,
            column="side",
        )
    )
