"""Demo quotes: a few quotes on open demo deals with product lines — drafts, sent ones, a revised one,
a rejected one and one accepted (its confirmed order joins the account's purchase history and the
deal is won)."""

import random
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from kehu.deals.models import Opportunity, OpportunityLine
from kehu.workspaces.models import Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import Quote

TERMS = "付款方式：合同签订后 30 天内付款。报价含 13% 增值税（服务 6%）。\nPayment within 30 days of signing."
# What happens to each demo quote, in order.
PLAN = ("accepted", "sent", "revised", "rejected", "draft", "sent")


def seed(workspace_slug: str, seed_value: int) -> int:
    """Create the demo quotes in ``workspace_slug``; returns how many quote versions exist after."""
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data, not secrets
    workspace = Workspace.objects.get(slug=workspace_slug)
    today = timezone.localdate()
    with scope(workspace=workspace):
        with_lines = OpportunityLine.objects.values("opportunity_id")
        deals = list(
            Opportunity.objects.filter(
                status=Opportunity.Status.OPEN,
                currency=workspace.base_currency,
                pk__in=with_lines,
                owner__isnull=False,
            )
            .select_related("owner")
            .order_by("pk")[: len(PLAN)]
        )
        actors: dict = {}
        for opp, outcome in zip(deals, PLAN, strict=False):
            if opp.owner_id not in actors:
                actors[opp.owner_id] = actor_for(opp.owner, workspace)
            actor = actors[opp.owner_id]
            lines = services.lines_from_opportunity(opp)
            for line in lines:
                line["tax_rate"] = 13 if line.get("product_id") else 6
            quote = services.create_quote(
                actor,
                opportunity_id=opp.pk,
                lines=lines,
                terms=TERMS,
                discount_percent=rng.choice([0, 0, 2, 5]),
                issue_date=today - timedelta(days=rng.randint(3, 20)),
            )
            if outcome == "draft":
                continue
            services.send(actor, quote)
            if outcome == "accepted":
                services.accept(actor, quote)
            elif outcome == "rejected":
                services.reject(actor, quote, "预算不足，明年再议")
            elif outcome == "revised":
                revised = services.revise(actor, quote)
                services.update_quote(actor, revised, discount_percent=8, notes="第二版：增加 8% 折扣")
        return Quote.objects.count()
