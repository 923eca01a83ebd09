"""Demo predictions: a two-year purchase history for the demo accounts, the models fitted on it,
every customer scored, and one recommended action taken (a task) and one dismissed."""

from django.utils import timezone
from django_scopes import scope

from kehu.customers.models import Account
from kehu.workspaces.models import Workspace
from kehu.workspaces.services import actor_for

from . import services, synthetic
from .models import RecommendedAction

SEED = 20261126


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    today = timezone.localdate()
    with scope(workspace=workspace):
        # The demo's own orders are ~2 per account: too few repeat purchases to fit anything, so the
        # accounts get a generated history (orders only; their timelines stay the demo's).
        accounts = list(Account.objects.select_related("owner").order_by("pk"))
        synthetic.add_history(workspace, accounts, end=today, seed=SEED, prefix="HIST", interactions=False)
        services.refit(workspace, today)
        suggestions = list(
            RecommendedAction.objects.filter(status=RecommendedAction.Status.SUGGESTED)
            .select_related("account", "account__owner")
            .order_by("-churn_probability", "pk")[:2]
        )
        for index, suggestion in enumerate(suggestions):
            account = suggestion.account
            if account.owner is None:
                continue
            actor = actor_for(account.owner, workspace)
            (services.take_action if index == 0 else services.dismiss_action)(actor, account)
