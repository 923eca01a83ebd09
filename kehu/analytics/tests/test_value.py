"""Profitability and incremental = full.

Profit (as of 2026-06-30, window 2025-06-30 … 2026-06-30, halves split on 2025-12-29; costs: ticket
50, complaint +200, visit 300):

    G: orders 2025-09-01, 2026-03-01, 2026-05-01 of 1000 (cost 600; the last with a 100 discount) and
       one visit → margin 1200, profit 1200 − 300 = 900, cost to serve 300 + 100 discount = 400;
       revenue 1000 in the first half, 2000 in the second (≥ +20%) → growing
    V: one order 2026-06-01 of 10000 (cost 4000) → profit 6000; the top 20% of the 2 profitable
       accounts (rounded up: 1) → valuable
    U: order 2026-01-10 of 500 (cost 300); a complaint ticket, an inquiry ticket, a complaint feedback
       → 2 tickets × 50 + 2 complaints × 200 = 500 → profit −300 → unprofitable
"""

import random
from datetime import UTC, date, datetime, timedelta

from kehu.activities.models import Activity, ActivityLink
from kehu.analytics import engine, services
from kehu.analytics.models import CustomerScore
from kehu.commerce.models import Feedback
from kehu.customers.models import Account
from kehu.tickets.models import Ticket

AS_OF = date(2026, 6, 30)


def visit(book, account, day):
    at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    activity = Activity.objects.create(workspace=book.ws, kind="visit", occurred_at=at, subject="拜访")
    ActivityLink.objects.create(
        workspace=book.ws,
        activity=activity,
        object_type="customers.account",
        object_id=account.pk,
        occurred_at=at,
        kind="visit",
    )


def ticket(book, account, kind, number):
    return Ticket.objects.create(
        workspace=book.ws,
        number=number,
        subject="问题",
        account=account,
        type=kind,
        created_at=datetime(2026, 2, 1, tzinfo=UTC),
    )


def test_profit_and_labels(book):
    g, v, u = book.account("G"), book.account("V"), book.account("U")
    book.order(g, "2025-09-01", 1000, 600)
    book.order(g, "2026-03-01", 1000, 600)
    book.order(g, "2026-05-01", 1000, 600, discount=100)
    visit(book, g, "2026-04-01")
    visit(book, g, "2024-04-01")  # outside the window
    book.order(v, "2026-06-01", 10000, 4000)
    book.order(u, "2026-01-10", 500, 300)
    ticket(book, u, "complaint", 1)
    ticket(book, u, "inquiry", 2)
    Feedback.objects.create(
        workspace=book.ws, account=u, kind="complaint", received_at=datetime(2026, 3, 1, tzinfo=UTC)
    )
    engine.compute(book.ws, "full", as_of=AS_OF)
    got = {s.account.name: s for s in CustomerScore.objects.select_related("account")}
    assert (got["G"].margin, got["G"].visits, got["G"].discounts) == (1200, 1, 100)
    assert (got["G"].cost_to_serve, got["G"].profit, got["G"].value_label) == (400, 900, "growing")
    assert (got["V"].profit, got["V"].value_label) == (6000, "valuable")
    assert (got["U"].tickets, got["U"].complaints) == (2, 2)
    assert (got["U"].cost_to_serve, got["U"].profit, got["U"].value_label) == (500, -300, "unprofitable")
    assert got["G"].historical_value == 3000 and got["G"].historical_margin == 1200


FIELDS = [
    "first_order_date",
    "last_order_date",
    "last_return_date",
    "median_interval_days",
    "orders",
    "historical_value",
    "historical_margin",
    "revenue_window",
    "margin",
    "discounts",
    "tickets",
    "complaints",
    "visits",
    "cost_to_serve",
    "profit",
    "value_label",
    "potential",
    "recency_days",
    "r",
    "f",
    "m",
    "fm",
    "segment",
    "grade_score",
    "grade",
    "derived_stage",
    "next_change_on",
    "inputs",
]


def state() -> dict:
    scores = {row["account_id"]: row for row in CustomerScore.objects.values("account_id", *FIELDS)}
    accounts = dict(Account.objects.values_list("pk", "lifecycle_stage"))
    grades = dict(Account.objects.values_list("pk", "grade"))
    return {"scores": scores, "stages": accounts, "grades": grades}


def random_history(book, rng, accounts):
    for account in accounts:
        day = date(2024, 7, 1) + timedelta(days=rng.randrange(600))
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8])):
            if day > AS_OF:
                break
            status = rng.choice(["confirmed", "paid", "shipped", "shipped", "cancelled", "draft"])
            amount = rng.choice([100, 250, 800, 1500, 6000])
            book.order(account, day.isoformat(), amount, amount * 0.55, status=status)
            day += timedelta(days=rng.choice([3, 20, 45, 90, 200, 400]))


def test_incremental_equals_full(book):
    rng = random.Random(20260630)
    accounts = [book.account(f"R{i:02d}", size=rng.choice(["1-9", "50-249", ""])) for i in range(40)]
    random_history(book, rng, accounts)
    owner = book.tenant.actors["owner"]
    first = engine.compute(book.ws, "full", as_of=AS_OF)
    # Changes after the run: new and cancelled orders, a new account, an override, a visit, a complaint.
    for account in rng.sample(accounts, 8):
        book.order(account, "2026-06-29", rng.choice([300, 9000]), 100)
    cancelled = book.order(accounts[0], "2026-06-28", 700, 300)
    engine.compute(book.ws, "incremental", as_of=AS_OF)
    cancelled.status = "cancelled"
    cancelled.save()
    newcomer = book.account("NEW")
    book.order(newcomer, "2026-06-30", 2500, 1000)
    services.set_override(owner, accounts[3].pk, "at_risk", "Complained about delivery")
    visit(book, accounts[5], "2026-06-01")
    Feedback.objects.create(
        workspace=book.ws, account=accounts[6], kind="complaint", received_at=datetime(2026, 6, 2, tzinfo=UTC)
    )
    incremental = engine.compute(book.ws, "incremental", as_of=AS_OF)
    assert incremental.kind == "incremental"
    assert incremental.accounts < len(accounts)  # only the changed ones
    after_incremental = state()
    full = engine.compute(book.ws, "full", as_of=AS_OF, refresh_cuts=False)
    assert full.cuts == first.cuts
    assert state() == after_incremental
    assert Account.objects.get(pk=accounts[3].pk).lifecycle_stage == "at_risk"
