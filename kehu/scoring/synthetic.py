"""A generated lead history with a known signal, for the tests, the benchmark and the demo.

Industry "Software" and source "referral" win more often, ad campaigns less; everything else is
noise. A model that learns anything real ranks won leads above lost ones on a holdout.
"""

import math
import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

INDUSTRIES = ("Software", "Manufacturing", "Retail", "Education", "Healthcare", "Finance", "Logistics")
SOURCES = ("web_form", "import", "api", "event", "referral", "ad_campaign", "manual")
SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")
PROVINCES = ("上海", "北京", "广东", "浙江", "江苏", "四川", "湖北", "山东")
TITLES = (
    "CEO",
    "CTO",
    "Purchasing manager",
    "Engineer",
    "IT director",
    "Office manager",
    "总经理",
    "采购经理",
)
UTM_SOURCES = ("", "", "baidu", "wechat", "linkedin", "newsletter")


INDUSTRY_EFFECT = {
    "Software": 1.8,
    "Manufacturing": 0.0,
    "Retail": -0.7,
    "Education": -0.5,
    "Healthcare": 0.2,
    "Finance": 0.5,
    "Logistics": -0.2,
}
SOURCE_EFFECT = {
    "web_form": 0.0,
    "import": -0.5,
    "api": 0.0,
    "event": 0.4,
    "referral": 1.6,
    "ad_campaign": -1.4,
    "manual": 0.0,
}
SIZE_EFFECT = {"1-9": -0.4, "10-49": -0.2, "50-249": 0.0, "250-999": 0.3, "1000+": 0.6}


def win_probability(industry: str, source: str, size: str) -> float:
    """The true P(won) the generator draws outcomes from (province, title, UTM are pure noise)."""
    z = -0.4 + INDUSTRY_EFFECT[industry] + SOURCE_EFFECT[source] + SIZE_EFFECT[size]
    return 1 / (1 + math.exp(-z))


def lead_fields(rng: random.Random) -> dict:
    return {
        "industry": rng.choice(INDUSTRIES),
        "source": rng.choice(SOURCES),
        "size": rng.choice(SIZES),
        "country": "CN",
        "province": rng.choice(PROVINCES),
        "title": rng.choice(TITLES),
        "utm_source": rng.choice(UTM_SOURCES),
    }


def _pipeline(workspace):
    from kehu.customers.models import Account
    from kehu.deals.models import Pipeline, Stage

    pipeline, _created = Pipeline.objects.get_or_create(
        workspace=workspace, name="Scoring history", defaults={"position": 99}
    )
    won, _c = Stage.objects.get_or_create(
        workspace=workspace, pipeline=pipeline, name="Won", defaults={"is_won": True, "probability": 100}
    )
    lost, _c = Stage.objects.get_or_create(
        workspace=workspace, pipeline=pipeline, name="Lost", defaults={"is_lost": True, "position": 1}
    )
    account = Account.objects.filter(workspace=workspace, name="Scoring history").first()
    if account is None:
        account = Account.objects.create(workspace=workspace, name="Scoring history")
    return pipeline, won, lost, account


def generate(workspace, n: int, *, seed: int = 7, open_share: float = 0.1, batch: int = 5_000) -> dict:
    """Insert ``n`` leads: ``open_share`` open, the rest won or lost by ``win_probability``.

    Lost leads are half disqualified, half converted with a lost opportunity. Bulk inserts, no
    services (no audit, no signals): this is history, not user input. Returns the counts.
    """
    from kehu.deals.models import Opportunity
    from kehu.leads.models import Lead

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    pipeline, won_stage, lost_stage, account = _pipeline(workspace)
    now = timezone.now()
    counts = {"won": 0, "lost": 0, "open": 0}
    done = 0
    while done < n:
        size = min(batch, n - done)
        leads, opportunities, outcomes = [], [], []
        for i in range(size):
            fields = lead_fields(rng)
            created = now - timedelta(days=rng.randint(1, 700))
            lead = Lead(
                workspace=workspace,
                name=f"Lead {done + i}",
                company=f"Company {done + i}",
                created_at=created,
                **fields,
            )
            if rng.random() < open_share:
                lead.status = rng.choice((Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED))
                outcome = "open"
            elif rng.random() < win_probability(fields["industry"], fields["source"], fields["size"]):
                outcome = "won"
            elif rng.random() < 0.5:
                lead.status, lead.disqualified_reason, outcome = Lead.Status.DISQUALIFIED, "No budget", "lost"
            else:
                outcome = "lost_deal"
            if outcome in ("won", "lost_deal"):
                won = outcome == "won"
                lead.status, lead.converted_at = Lead.Status.QUALIFIED, created + timedelta(days=5)
                opportunities.append(
                    Opportunity(
                        workspace=workspace,
                        name=lead.company,
                        account=account,
                        pipeline=pipeline,
                        stage=won_stage if won else lost_stage,
                        currency="CNY",
                        amount=Decimal(10000),
                        status="won" if won else "lost",
                        closed_at=created + timedelta(days=40),
                    )
                )
            leads.append(lead)
            outcomes.append(outcome)
            counts["lost" if outcome == "lost_deal" else outcome] += 1
        Opportunity.objects.bulk_create(opportunities, batch_size=1000)
        deals = iter(opportunities)
        for lead, outcome in zip(leads, outcomes, strict=True):
            if outcome in ("won", "lost_deal"):
                lead.converted_opportunity = next(deals)
        Lead.objects.bulk_create(leads, batch_size=1000)
        done += size
    return counts
