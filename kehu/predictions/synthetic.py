"""A generated purchase history with a planted churn signal, for the tests, the benchmark and the demo.

Every account has a hidden loyalty ``u``. Its lifetime (first order → last) is exponential with a
mean that grows with ``u``; it orders at its own rate until then. The *planted signal*: in the 90
days before an account stops, it orders half as often, spends less per order, talks to us less
and often complains. So at any cutoff the accounts about to stop look different in the past-only
features (spend trend, interactions, complaints) — a model that learns something real ranks them
above the others on a later window; shuffled training labels must not.
Deterministic: the same seed gives the same rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

HISTORY_DAYS = 720
PRE_CHURN_DAYS = 90


@dataclass
class Plan:
    accounts: int
    orders: int
    activities: int
    complaints: int


def _aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def simulate(
    rng: random.Random, start: date, end: date, pace: float = 1.0
) -> tuple[list[tuple[date, float]], list[date], list[date]]:
    """One account's (orders [(day, amount)], interaction days, complaint days) between start and end."""
    horizon = (end - start).days
    u = rng.gauss(0, 1)
    first = start + timedelta(days=rng.randrange(0, max(1, horizon // 2)))
    lifetime = rng.expovariate(1 / (800 * math.exp(0.7 * u)))
    stop = first + timedelta(days=int(lifetime))
    rate = rng.uniform(1 / 45, 1 / 12) * pace  # orders per day
    basket = rng.lognormvariate(math.log(600), 0.5)
    orders: list[tuple[date, float]] = []
    day = first
    while day < min(stop, end):
        declining = (stop - day).days <= PRE_CHURN_DAYS
        amount = basket * rng.lognormvariate(0, 0.3) * (0.6 if declining else 1.0)
        orders.append((day, round(amount, 2)))
        gap = rng.expovariate(rate * (0.45 if declining else 1.0))
        day = day + timedelta(days=max(1, int(gap)))
    if stop >= end or not orders:
        stop = end + timedelta(days=365)  # still a customer at the end of the history
    talks: list[date] = []
    engagement = 1 / 30 * (1 + 1 / (1 + math.exp(-u)))
    day = first
    while day < end:
        declining = 0 <= (stop - day).days <= PRE_CHURN_DAYS
        gap = rng.expovariate(engagement * (0.2 if declining else 1.0))
        day = day + timedelta(days=max(1, int(gap)))
        if day < min(end, stop + timedelta(days=30)):
            talks.append(day)
    complaints = []
    if stop < end and rng.random() < 0.55:
        complaints.append(stop - timedelta(days=rng.randrange(5, PRE_CHURN_DAYS)))
    if rng.random() < 0.1:
        complaints.append(first + timedelta(days=rng.randrange(0, max(1, (end - first).days))))
    return orders, talks, [d for d in complaints if first <= d < end]


@transaction.atomic
def generate(
    workspace,
    *,
    accounts: int = 400,
    end: date | None = None,
    seed: int = 7,
    owner=None,
    prefix: str = "SYN",
) -> Plan:
    """Create ``accounts`` accounts with their orders, interactions and complaints up to ``end``."""
    from kehu.customers.models import Account

    end = end or timezone.localdate()
    made = Account.objects.bulk_create(
        [
            Account(
                workspace=workspace,
                name=f"{prefix} {i:05d}",
                owner=owner,
                created_at=_aware(end - timedelta(days=HISTORY_DAYS)),
            )
            for i in range(accounts)
        ],
        batch_size=2000,
    )
    return add_history(workspace, made, end=end, seed=seed, prefix=prefix)


@transaction.atomic
def add_history(
    workspace, accounts, *, end: date, seed: int = 7, prefix: str = "SYN", interactions: bool = True
) -> Plan:
    """Give existing ``accounts`` a generated purchase history (orders; interactions and complaints too)."""
    from kehu.activities.models import Activity, ActivityLink
    from kehu.commerce.models import Feedback, Order
    from kehu.customers.models import Account

    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    start = end - timedelta(days=HISTORY_DAYS)
    currency = getattr(workspace, "base_currency", "") or "CNY"
    orders, activities, complaints, links = [], [], [], []
    number = 0
    for account in accounts:
        owner = account.owner
        bought, talks, complained = simulate(rng, start, end)
        for day, amount in bought:
            number += 1
            money = Decimal(str(amount))
            cost = Decimal(str(round(amount * 0.6, 2)))
            orders.append(
                Order(
                    workspace=workspace,
                    account=account,
                    owner=owner,
                    team_id=account.team_id,
                    number=f"{prefix}-{number:07d}",
                    order_date=day,
                    status=Order.Status.CONFIRMED,
                    currency=currency,
                    total_amount=money,
                    base_total_amount=money,
                    total_cost=cost,
                    base_total_cost=cost,
                )
            )
        if interactions:
            for day in talks:
                activities.append(
                    (
                        account,
                        Activity(
                            workspace=workspace,
                            kind="call",
                            owner=owner,
                            occurred_at=_aware(day),
                            subject="Check-in",
                        ),
                    )
                )
            for day in complained:
                complaints.append(
                    Feedback(
                        workspace=workspace,
                        account=account,
                        owner=owner,
                        kind=Feedback.Kind.COMPLAINT,
                        rating=rng.choice((1, 2)),
                        received_at=_aware(day),
                    )
                )
    Order.objects.bulk_create(orders, batch_size=5000)
    Activity.objects.bulk_create([a for _account, a in activities], batch_size=5000)
    for account, activity in activities:
        links.append(
            ActivityLink(
                workspace=workspace,
                activity=activity,
                object_type=Account.object_type,
                object_id=account.pk,
                occurred_at=activity.occurred_at,
                kind=activity.kind,
            )
        )
    ActivityLink.objects.bulk_create(links, batch_size=5000)
    Feedback.objects.bulk_create(complaints, batch_size=5000)
    return Plan(len(accounts), len(orders), len(activities), len(complaints))
