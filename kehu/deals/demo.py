"""Demo deals: ~40 opportunities over the demo accounts, in every stage, won and lost ones too, with a
stage history spread over the last six months (so forecast and funnel reports have data)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django_scopes import scope

from kehu.commerce.models import Product
from kehu.customers.models import Account, Contact
from kehu.workspaces.models import Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import LostReason

COUNT = 40
TOPICS_ZH = (
    "CRM 部署",
    "年度服务合同",
    "数据平台升级",
    "华东区扩容",
    "培训项目",
    "续约",
    "集成项目",
    "试点项目",
)
TOPICS_EN = (
    "CRM rollout",
    "Annual support",
    "Data platform upgrade",
    "Regional expansion",
    "Renewal",
    "Pilot",
)
COMPETITORS = ("Salesforce", "纷享销客", "销售易", "HubSpot", "Zoho")
NEXT_STEPS = ("Send the proposal", "Demo for the IT team", "Call the CFO", "Negotiate the discount", "")
SOURCES = ("Web form", "Referral", "Trade fair", "Cold call", "Partner")
# Final state: the index of the last open stage reached (0–3), or "won" / "lost".
OUTCOMES = [0] * 6 + [1] * 6 + [2] * 6 + [3] * 5 + ["won"] * 10 + ["lost"] * 7


def seed(workspace_slug: str, seed_value: int) -> int:
    """Create the demo deals in the workspace ``workspace_slug``; returns how many."""
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data, not secrets
    workspace = Workspace.objects.get(slug=workspace_slug)
    now = timezone.now()
    with scope(workspace=workspace):
        pipeline = services.default_pipeline(workspace)
        stages = list(pipeline.stages.order_by("position"))
        open_stages = [s for s in stages if not s.is_closed]
        won = next(s for s in stages if s.is_won)
        lost = next(s for s in stages if s.is_lost)
        reasons = list(LostReason.objects.values_list("name", flat=True)) or ["Price"]
        accounts = list(Account.objects.select_related("owner").order_by("pk"))
        products = {c: list(Product.objects.filter(currency=c, active=True)) for c in ("CNY", "USD")}
        contacts: dict[int, list[int]] = {}
        for contact_id, account_id in Contact.objects.values_list("pk", "account_id").order_by("pk"):
            contacts.setdefault(account_id, []).append(contact_id)
        actors: dict = {}
        outcomes = list(OUTCOMES)
        rng.shuffle(outcomes)
        for index, outcome in enumerate(outcomes[:COUNT]):
            account = accounts[index % len(accounts)]
            if account.owner_id is None:
                continue
            actor = actors.get(account.owner_id) or actors.setdefault(
                account.owner_id, actor_for(account.owner, workspace)
            )
            foreign = account.name.isascii()
            currency = "USD" if foreign else "CNY"
            start = now - timedelta(days=rng.randint(20, 180), hours=rng.randint(0, 9))
            catalog = products[currency]
            lines = (
                [
                    {
                        "product_id": p.pk,
                        "quantity": rng.choice([1, 2, 5, 10]),
                        "discount_percent": rng.choice([0, 0, 5, 10]),
                    }
                    for p in rng.sample(catalog, k=min(len(catalog), rng.randint(1, 2)))
                ]
                if catalog and rng.random() < 0.6
                else None
            )
            topic = rng.choice(TOPICS_EN if foreign else TOPICS_ZH)
            roles = [
                {"contact_id": c, "role": role}
                for c, role in zip(
                    contacts.get(account.pk, [])[:2], ("decision_maker", "influencer"), strict=False
                )
            ]
            opp = services.create_opportunity(
                actor,
                at=start,
                name=f"{account.name} · {topic}",
                account_id=account.pk,
                amount=Decimal(rng.randrange(20, 800) * 1000),
                currency=currency,
                expected_close_date=(start + timedelta(days=rng.randint(30, 150))).date(),
                competitors=rng.sample(COMPETITORS, k=rng.randint(0, 2)),
                next_step=rng.choice(NEXT_STEPS),
                source=rng.choice(SOURCES),
                contacts=roles,
                lines=lines,
                team_id=account.team_id,
            )
            # Walk the stages in order with a few days to weeks in each, never past today.
            last_open = outcome if isinstance(outcome, int) else rng.randint(1, len(open_stages) - 1)
            moment = start
            path = open_stages[1 : last_open + 1] + (
                [won] if outcome == "won" else [lost] if outcome == "lost" else []
            )
            span = (now - start) / (len(path) + 1) if path else timedelta(0)
            for stage in path:
                moment += span * rng.uniform(0.6, 1.0)
                reason = rng.choice(reasons) if stage.is_lost else None
                services.move_to_stage(actor, opp, stage, lost_reason=reason, at=min(moment, now))
        return len(outcomes[:COUNT])
