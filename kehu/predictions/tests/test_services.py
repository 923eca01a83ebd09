"""Fitting on a workspace's orders, batch scoring, next best action → task, outcomes, the schedule."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.activities.models import Task
from kehu.commerce.models import Order
from kehu.customers.models import Account
from kehu.predictions import services, synthetic
from kehu.predictions.models import ChurnModel, ClvModel, CustomerPrediction, FitStatus, RecommendedAction

AS_OF = date(2026, 6, 30)


def _order(ws, account, day, amount, number, status=Order.Status.CONFIRMED):
    return Order.objects.create(
        workspace=ws,
        account=account,
        number=number,
        order_date=day,
        status=status,
        currency="CNY",
        total_amount=Decimal(amount),
        base_total_amount=Decimal(amount),
    )


def test_summary_aggregates_per_day_and_ignores_drafts_and_later_orders(tenant):
    ws = tenant.workspace
    with tenant.scope():
        a = Account.objects.create(workspace=ws, name="A")
        b = Account.objects.create(workspace=ws, name="B")
        _order(ws, a, date(2026, 1, 1), "100", "1")
        _order(ws, a, date(2026, 1, 1), "50", "2")  # same day: one purchase
        _order(ws, a, date(2026, 1, 15), "30", "3")
        _order(ws, a, date(2026, 1, 15), "10", "4")
        _order(ws, a, date(2026, 1, 29), "80", "5")
        _order(ws, a, date(2026, 2, 5), "999", "6", status=Order.Status.DRAFT)
        _order(ws, a, date(2026, 3, 1), "999", "7")  # on/after the end: not in the summary
        _order(ws, b, date(2026, 2, 12), "70", "8")
        s = services.customer_summary(ws, date(2026, 3, 1))
    assert s["account_ids"].tolist() == [a.pk, b.pk]
    assert s["x"].tolist() == [2, 0]
    assert s["t_x"].tolist() == [4.0, 0.0]  # 28 days
    assert s["T"].tolist() == [59 / 7, 17 / 7]
    assert s["m"].tolist() == [(40 + 80) / 2, 0.0]  # mean of the repeat days, first day excluded


@pytest.fixture
def fitted(tenant):
    with tenant.scope():
        synthetic.generate(tenant.workspace, accounts=300, end=AS_OF, seed=5, owner=tenant.users["sales"])
        clv_row, churn_row = services.refit(tenant.workspace, AS_OF)
    return clv_row, churn_row


def test_refit_stores_models_with_figures_and_scores_every_customer(tenant, fitted):
    clv_row, churn_row = fitted
    assert clv_row.status == FitStatus.FITTED and churn_row.status == FitStatus.FITTED
    assert set(clv_row.params) == {"bgnbd", "gamma_gamma"}
    assert clv_row.customers == 300 and clv_row.repeat_customers > 200
    cal = clv_row.calibration
    assert cal["customers"] > 100 and cal["correlation"] > 0.3
    assert 0.5 < cal["predicted_total"] / cal["actual_total"] < 2.0
    assert churn_row.auc > 0.75 and churn_row.train_cutoff < churn_row.test_cutoff < AS_OF
    assert 0 < churn_row.threshold < 1
    with tenant.scope():
        rows = CustomerPrediction.objects.all()
        assert rows.count() == clv_row.customers
        assert not rows.filter(clv__isnull=True).exists()
        row = rows.filter(churn_probability__isnull=False).order_by("-churn_probability").first()
        assert row.clv_version == clv_row.version and row.churn_version == churn_row.version
        assert 0 <= row.p_alive <= 1 and row.reasons and row.reasons[0]["text"]
        # Suggestions exist for at-risk accounts, one per account.
        suggested = RecommendedAction.objects.filter(status=RecommendedAction.Status.SUGGESTED)
        assert suggested.exists()
        assert suggested.count() == rows.exclude(next_action="").count()
        assert set(suggested.values_list("kind", flat=True)) <= set(RecommendedAction.Kind.values)
        # Rescoring replaces rows and suggestions instead of adding to them.
        services.score(tenant.workspace, AS_OF)
        assert CustomerPrediction.objects.count() == clv_row.customers
        assert RecommendedAction.objects.filter(status="suggested").count() == suggested.count()


def test_take_action_makes_a_task_for_the_owner_and_tracks_the_outcome(tenant, fitted):
    actor = tenant.actors["sales"]
    with tenant.scope():
        suggestion = RecommendedAction.objects.filter(status="suggested").first()
        account = suggestion.account
        action = services.take_action(actor, account)
        task = Task.objects.get(pk=action.task_id)
        assert action.status == RecommendedAction.Status.TAKEN and action.decided_by_id == actor.user.pk
        assert task.assignee_id == tenant.users["sales"].pk  # the account's owner
        assert task.record_type == "customers.account" and task.record_id == account.pk
        assert suggestion.reason in task.description
        # The account orders 10 days later: the outcome becomes "ordered".
        _order(tenant.workspace, account, timezone.localdate() + timedelta(days=10), "50", "AFTER-1")
        assert services.measure_outcomes(tenant.workspace) == 1
        action.refresh_from_db()
        assert action.outcome == RecommendedAction.Outcome.ORDERED
        summary = services.action_summary(tenant.workspace)
        assert summary["taken"]["count"] == 1 and summary["taken"]["ordered"] == 1
        assert summary["taken"]["order_rate"] == 1.0
        # Nothing left to take for that account.
        with pytest.raises(Exception, match="no recommended action"):
            services.take_action(actor, account)


def test_no_order_within_60_days_is_measured(tenant, fitted):
    actor = tenant.actors["sales"]
    with tenant.scope():
        account = RecommendedAction.objects.filter(status="suggested").first().account
        action = services.dismiss_action(actor, account)
        RecommendedAction.objects.filter(pk=action.pk).update(decided_at=timezone.now() - timedelta(days=400))
        Order.objects.filter(account=account, order_date__gte=AS_OF - timedelta(days=400)).delete()
        services.measure_outcomes(tenant.workspace)
        action.refresh_from_db()
    assert action.status == RecommendedAction.Status.DISMISSED
    assert action.outcome == RecommendedAction.Outcome.NO_ORDER


def test_too_little_data_is_stored_as_insufficient(tenant):
    with tenant.scope():
        a = Account.objects.create(workspace=tenant.workspace, name="Only")
        _order(tenant.workspace, a, date(2026, 1, 1), "10", "1")
        clv_row = services.fit_clv(tenant.workspace, AS_OF)
        churn_row = services.train_churn(tenant.workspace, AS_OF)
        assert services.score(tenant.workspace, AS_OF) == 1
        row = CustomerPrediction.objects.get(account=a)
    assert clv_row.status == churn_row.status == FitStatus.INSUFFICIENT
    assert clv_row.message and churn_row.message
    assert row.clv is None and row.churn_probability is None and row.next_action == ""


def test_models_are_per_workspace(tenant, other_tenant, fitted):
    with other_tenant.scope():
        assert not ClvModel.objects.exists() and not ChurnModel.objects.exists()
        assert not CustomerPrediction.objects.exists()


def test_schedule_enqueues_a_refit_then_nothing_until_due(tenant, fitted, settings):
    from django.core.cache import cache

    from kehu.predictions import schedule

    cache.clear()
    assert schedule.tick() >= 1  # the workspace with orders
    assert schedule.tick() == 0


def test_nba_rules():
    from kehu.predictions.nba import recommend

    base = dict(
        threshold=0.5,
        clv=100.0,
        clv_high=1000.0,
        p_alive=0.9,
        grade_rank=0,
        spend_trend=0.0,
        open_complaints=0,
        top_reason="Last order 120 days ago",
        cross_sell=None,
    )
    assert recommend(churn=0.3, **{**base, "open_complaints": 1})[0] == "escalate"
    assert recommend(churn=0.8, **base)[0] == "call"
    assert recommend(churn=0.8, **{**base, "clv": 2000.0})[0] == "visit"
    assert recommend(churn=0.8, **{**base, "grade_rank": 2})[0] == "visit"
    assert recommend(churn=0.3, **{**base, "spend_trend": -0.5})[0] == "offer"
    kind, why, data = recommend(churn=0.1, **{**base, "clv": 2000.0, "cross_sell": (7, "Tea", 12)})
    assert kind == "cross_sell" and data == {"product_id": 7} and "Tea" in why and "12" in why
    assert recommend(churn=0.1, **base)[0] == ""
    assert "Last order 120 days ago" in recommend(churn=0.8, **base)[1]


def test_cross_sell_from_co_occurrence(tenant):
    from kehu.commerce.models import OrderLine, Product
    from kehu.predictions import nba

    ws = tenant.workspace
    with tenant.scope():
        tea, cup, pot = (
            Product.objects.create(workspace=ws, sku=s, name=s, currency="CNY") for s in ("tea", "cup", "pot")
        )
        accounts = [Account.objects.create(workspace=ws, name=f"A{i}") for i in range(4)]
        baskets = [(tea, cup), (tea, cup), (tea, pot), (tea,)]
        for i, (account, basket) in enumerate(zip(accounts, baskets, strict=True)):
            order = _order(ws, account, date(2026, 5, 1), "10", f"O{i}")
            for product in basket:
                OrderLine.objects.create(workspace=ws, order=order, product=product, quantity=1, unit_price=1)
        pairs = nba.co_occurrence(ws, date(2026, 1, 1))
        best = nba.cross_sell_candidates(ws, [accounts[3].pk, accounts[2].pk], date(2026, 1, 1))
    assert pairs[tea.pk][0] == (cup.pk, 2)
    assert best[accounts[3].pk] == (cup.pk, "cup", 2)  # bought tea only: cup goes with tea most
    assert best[accounts[2].pk] == (cup.pk, "cup", 2)  # has tea and pot: cup is what is missing
