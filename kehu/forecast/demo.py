"""Demo quotas: monthly targets for everyone who owns deals in the demo workspace, over the last two
quarters and the current one (so the dashboard shows attainment), and a quarter target per team."""

import random
from decimal import Decimal

from django.db.models import Sum
from django_scopes import scope

from kehu.deals.models import Opportunity
from kehu.workspaces.models import Membership, Team, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .periods import current


def seed(workspace_slug: str, seed_value: int) -> int:
    """Set the demo targets in ``workspace_slug`` (idempotent: setting a target again replaces it)."""
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data, not secrets
    workspace = Workspace.objects.get(slug=workspace_slug)
    with scope(workspace=workspace):
        admin = (
            Membership.objects.filter(role__can_manage_workspace=True, is_active=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if admin is None:
            return 0
        actor = actor_for(admin.user, workspace)
        owners = list(
            Opportunity.objects.exclude(owner=None)
            .values_list("owner_id", flat=True)
            .distinct()
            .order_by("owner_id")
        )
        # Quotas in the size of what each person sells, so attainment lands around 60–120 %.
        sold = dict(
            Opportunity.objects.filter(status=Opportunity.Status.WON)
            .values("owner_id")
            .annotate(total=Sum("base_amount"))
            .values_list("owner_id", "total")
        )
        now = current(workspace)
        items = []
        for owner_id in owners:
            monthly = max(Decimal(20000), (sold.get(owner_id) or Decimal(0)) / 6)
            for quarter in (now.shifted(-2), now.shifted(-1), now):
                for month in quarter.months():
                    factor = Decimal(rng.choice([80, 90, 100, 110, 120])) / 100
                    items.append(
                        {
                            "owner_id": owner_id,
                            "period": month.key,
                            "amount": (monthly * factor).quantize(1000),
                        }
                    )
        for team in Team.objects.order_by("pk"):
            items.append(
                {"team_id": team.pk, "period": now.key, "amount": Decimal(rng.choice([300000, 500000]))}
            )
        counts = services.set_targets(actor, items)
    return counts["created"] + counts["updated"]
