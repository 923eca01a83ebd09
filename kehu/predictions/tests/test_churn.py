"""Churn model: the planted signal is found on a later window, shuffled labels give chance, no leakage."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from kehu.commerce.models import Feedback, Order
from kehu.predictions import churn, synthetic

AS_OF = date(2026, 6, 30)


@pytest.fixture
def history(tenant):
    with tenant.scope():
        return synthetic.generate(tenant.workspace, accounts=500, end=AS_OF, seed=11)


def test_time_split_auc_finds_the_planted_signal(tenant, history):
    with tenant.scope():
        result = churn.validate(tenant.workspace, AS_OF)
    figures = result["figures"]
    assert figures["train_cutoff"] == "2026-01-01" and figures["test_cutoff"] == "2026-04-01"
    assert figures["train_size"] > 150 and figures["size"] > 150
    assert 0.1 < figures["churn_rate"] < 0.9
    assert figures["auc"] > 0.8
    assert figures["precision"] > 0.6 and figures["recall"] > 0.5
    assert figures["brier"] < 0.2
    # The planted pre-churn signs push towards churn: falling spend (negative trend), fewer
    # interactions, more complaints — the coefficients carry the signs the generator planted.
    coef = dict(zip(result["model"]["features"], result["model"]["coef"], strict=True))
    assert coef["recency_days"] > 0
    assert coef["interactions_90d"] < 0
    assert coef["complaints_180d"] > 0


def test_shuffled_training_labels_give_chance_auc(tenant, history):
    """The leakage check: with the training labels permuted, the test-window AUC falls to ≈ 0.5."""
    from sklearn.metrics import roc_auc_score

    with tenant.scope():
        t1, t2 = churn.windows(AS_OF)
        train = churn.build_features(tenant.workspace, t1)
        test = churn.build_features(tenant.workspace, t2)
        y_train = churn.churn_labels(tenant.workspace, train)
        y_test = churn.churn_labels(tenant.workspace, test)
    real = churn.fit(train.model_matrix(), y_train, train.account_ids, train.names)
    assert roc_auc_score(y_test, churn.predict(real, test.model_matrix())) > 0.8
    rng = np.random.default_rng(3)
    aucs = []
    for _ in range(30):
        model = churn.fit(train.model_matrix(), rng.permutation(y_train), train.account_ids, train.names)
        aucs.append(roc_auc_score(y_test, churn.predict(model, test.model_matrix())))
    assert abs(float(np.mean(aucs)) - 0.5) <= 0.05


def test_features_ignore_everything_from_the_cutoff_on(tenant, history):
    """Orders, complaints and interactions dated at or after the cutoff leave the features unchanged."""
    cutoff = date(2026, 3, 1)
    with tenant.scope():
        before = churn.build_features(tenant.workspace, cutoff)
        account_id = int(before.account_ids[0])
        sample = Order.objects.filter(account_id=account_id).first()
        for offset in (0, 5, 40):
            Order.objects.create(
                workspace=tenant.workspace,
                account_id=account_id,
                number=f"LATE-{offset}",
                order_date=cutoff + timedelta(days=offset),
                status=Order.Status.CONFIRMED,
                currency=sample.currency,
                total_amount=Decimal("999"),
                base_total_amount=Decimal("999"),
            )
        Feedback.objects.create(
            workspace=tenant.workspace,
            account_id=account_id,
            kind=Feedback.Kind.COMPLAINT,
            rating=1,
            received_at=synthetic._aware(cutoff),
        )
        after = churn.build_features(tenant.workspace, cutoff)
        labels = churn.churn_labels(tenant.workspace, after)
    assert np.array_equal(before.account_ids, after.account_ids)
    assert np.array_equal(before.raw, after.raw)
    assert labels[0] == 0  # ...but the label sees the new order


def test_reasons_name_the_features_pushing_towards_churn(tenant, history):
    with tenant.scope():
        result = churn.validate(tenant.workspace, AS_OF)
    test = result["test"]
    X = test.model_matrix()
    reasons = churn.top_reasons(result["model"], X, test.raw)
    p = churn.predict(result["model"], X)
    riskiest = int(np.argmax(p))
    assert 1 <= len(reasons[riskiest]) <= 3
    weights = [r["weight"] for r in reasons[riskiest]]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0
    contrib = churn.contributions(result["model"], X)[riskiest]
    assert reasons[riskiest][0]["feature"] == result["model"]["features"][int(np.argmax(contrib))]
    assert reasons[riskiest][0]["text"]


def test_tickets_complaints_and_satisfaction_feed_the_features(tenant):
    """Service tickets count when the tickets app is there: complaints, tickets, satisfaction."""
    from kehu.customers.models import Account
    from kehu.tickets.models import Ticket

    ws = tenant.workspace
    cutoff = date(2026, 3, 1)
    with tenant.scope():
        account = Account.objects.create(workspace=ws, name="Served")
        Order.objects.create(
            workspace=ws,
            account=account,
            number="S-1",
            order_date=date(2026, 1, 10),
            status=Order.Status.PAID,
            currency="CNY",
            base_total_amount=Decimal("100"),
        )
        for number, kind, satisfaction, day in (
            (1, "complaint", 1, date(2026, 2, 1)),
            (2, "inquiry", 4, date(2026, 2, 10)),
            (3, "complaint", None, date(2026, 3, 5)),  # after the cutoff: ignored
        ):
            Ticket.objects.create(
                workspace=ws,
                number=number,
                subject=f"T{number}",
                account=account,
                type=kind,
                satisfaction=satisfaction,
                created_at=synthetic._aware(day),
            )
        features = churn.build_features(ws, cutoff)
    row = dict(zip(features.names, features.raw[0], strict=True))
    assert row["tickets_180d"] == 2 and row["complaints_180d"] == 1
    assert row["satisfaction"] == 2.5 and row["has_satisfaction"] == 1
    assert row["recency_days"] == 50 and row["frequency"] == 1
    assert row["interactions_90d"] == 0 and row["interaction_recency_days"] == churn.ACTIVE_DAYS
