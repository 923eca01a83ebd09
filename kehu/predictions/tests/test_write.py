"""The scoring's write path (``customers.bulk.replace_rows``) and the shared pass over the orders."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.commerce.models import Order
from kehu.commerce.services import REVENUE_STATUSES
from kehu.customers.bulk import replace_rows
from kehu.customers.models import Account
from kehu.predictions import churn as churn_model
from kehu.predictions import services, synthetic
from kehu.predictions.models import CustomerPrediction
from kehu.predictions.orders import order_days

AS_OF = date(2026, 6, 30)


def _accounts(tenant, n):
    with tenant.scope():
        return [Account.objects.create(workspace=tenant.workspace, name=f"A{i}") for i in range(n)]


def _replace(ws, ids, **columns):
    now = timezone.now()
    defaults = {"computed_at": now, "created_at": now, "updated_at": now}
    return replace_rows(
        CustomerPrediction, {"workspace_id": ws.pk}, "account_id", {"account_id": ids, **columns, **defaults}
    )


def test_rows_are_updated_in_place_inserted_and_deleted_within_the_scope_only(tenant, other_tenant):
    a, b, c = _accounts(tenant, 3)
    (x,) = _accounts(other_tenant, 1)
    _replace(other_tenant.workspace, [x.pk], clv=[5.0])
    _replace(tenant.workspace, [a.pk, b.pk], clv=[1.0, 2.0], reasons=[[], []])
    with tenant.scope():
        first = {p.account_id: p for p in CustomerPrediction.objects.filter(workspace=tenant.workspace)}
    # b updated in place (same id, creation kept), c new, a gone; the other workspace's row untouched.
    later = timezone.now() + timedelta(hours=1)
    n = replace_rows(
        CustomerPrediction,
        {"workspace_id": tenant.workspace.pk},
        "account_id",
        {
            "account_id": np.array([b.pk, c.pk]),
            "clv": np.array([20.004, np.nan]),
            "churn_probability": np.array([0.25, 0.5]),
            "computed_at": later,
            "created_at": later,
            "updated_at": later,
        },
    )
    assert n == 2
    with tenant.scope():
        rows = {p.account_id: p for p in CustomerPrediction.objects.filter(workspace=tenant.workspace)}
    assert set(rows) == {b.pk, c.pk}
    assert rows[b.pk].pk == first[b.pk].pk
    assert rows[b.pk].created_at == first[b.pk].created_at and rows[b.pk].updated_at == later
    assert rows[b.pk].clv == Decimal("20.00") and rows[b.pk].churn_probability == 0.25
    assert rows[c.pk].clv is None and rows[c.pk].created_at == later  # NaN is NULL
    with other_tenant.scope():
        assert CustomerPrediction.objects.get(account=x).clv == Decimal("5.00")


def test_text_and_json_that_copy_would_misread_arrive_intact(tenant):
    (a, b) = _accounts(tenant, 2)
    tricky = 'tab\there, line\nbreak, back\\slash, "quotes", \\N, 中文'
    reasons = [[{"text": tricky, "value": 1.5}], []]
    _replace(
        tenant.workspace,
        [a.pk, b.pk],
        reasons=reasons,
        next_action=["call", ""],
        next_action_reason=[tricky, ""],
        next_action_data=[{"path": "C:\\temp", "n": None}, {}],
        p_alive=[None, 0.125],
        clv_version=3,
    )
    with tenant.scope():
        rows = {p.account_id: p for p in CustomerPrediction.objects.filter(workspace=tenant.workspace)}
    assert rows[a.pk].reasons == reasons[0] and rows[b.pk].reasons == []
    assert rows[a.pk].next_action_reason == tricky
    assert rows[a.pk].next_action_data == {"path": "C:\\temp", "n": None}
    assert rows[a.pk].p_alive is None and rows[b.pk].p_alive == 0.125
    assert rows[a.pk].clv_version == rows[b.pk].clv_version == 3


def test_columns_of_different_lengths_or_unknown_columns_are_refused(tenant):
    (a,) = _accounts(tenant, 1)
    with pytest.raises(ValueError, match="one value per row"):
        _replace(tenant.workspace, [a.pk], clv=[1.0, 2.0])
    with pytest.raises(ValueError, match="no columns"):
        _replace(tenant.workspace, [a.pk], colour=["red"])


def _order(ws, account, day, amount, number):
    Order.objects.create(
        workspace=ws,
        account=account,
        number=number,
        order_date=day,
        status=Order.Status.CONFIRMED,
        currency="CNY",
        total_amount=Decimal(amount),
        base_total_amount=Decimal(amount),
    )


def test_one_pass_gives_the_summary_and_the_recent_spend(tenant):
    ws = tenant.workspace
    (a,) = _accounts(tenant, 1)
    with tenant.scope():
        for i, (day, amount) in enumerate(
            [
                (date(2026, 1, 2), "10"),
                (date(2026, 1, 2), "5"),
                (date(2026, 3, 1), "20"),
                (date(2026, 5, 1), "40"),
            ]
        ):
            _order(ws, a, day, amount, str(i))
        days = order_days(ws, date(2026, 6, 1))
    # 90 days before 2026-06-01 is 2026-03-03: only May is recent; January and March 1 are in the 90
    # days before (from 2025-12-03).
    assert days.account_ids.tolist() == [a.pk]
    assert (
        days.days.tolist() == [3] and days.total.tolist() == [75.0] and days.repeat_total.tolist() == [60.0]
    )
    assert days.recent_total.tolist() == [40.0] and days.previous_total.tolist() == [35.0]
    assert days.recent_days.tolist() == [1]
    assert days.days_at(np.array([a.pk, a.pk + 999])).tolist() == [3.0, 0.0]


def test_holdout_comes_from_the_same_pass_and_counts_the_purchase_days_inside_it(tenant):
    """The pass with a split sees the customers as a separate pass at the split day would, and the
    holdout's actual purchases (the difference) match a direct count of distinct order days."""
    ws = tenant.workspace
    with tenant.scope():
        synthetic.generate(ws, accounts=120, end=AS_OF, seed=3, owner=tenant.users["sales"])
        cutoff = AS_OF - timedelta(days=91)
        days = order_days(ws, AS_OF, split=cutoff)
        separate = order_days(ws, cutoff)
        direct = {}
        for account_id, _day in (
            Order.objects.filter(workspace=ws, status__in=REVENUE_STATUSES)
            .filter(order_date__gte=cutoff, order_date__lt=AS_OF)
            .values_list("account_id", "order_date")
            .distinct()
        ):
            direct[account_id] = direct.get(account_id, 0) + 1
    before = days.before
    assert before.end == cutoff and before.size == separate.size > 0
    for name in ("account_ids", "first", "last", "days", "repeat_total"):
        assert getattr(before, name).tolist() == getattr(separate, name).tolist(), name
    assert before.total is None  # the churn features' sums are not computed for the split
    actual = days.days_at(before.account_ids) - before.days
    assert actual.tolist() == [float(direct.get(int(i), 0)) for i in before.account_ids]
    assert actual.sum() > 0
    with pytest.raises(ValueError, match="full pass"):
        churn_model.build_features(ws, cutoff, days=before)


def test_scoring_reads_the_orders_once(tenant):
    with tenant.scope():
        synthetic.generate(tenant.workspace, accounts=60, end=AS_OF, seed=4, owner=tenant.users["sales"])
        services.refit(tenant.workspace, AS_OF)
        with CaptureQueriesContext(connection) as queries:
            services.score(tenant.workspace, AS_OF)
    order_passes = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "commerce_order"' in q["sql"] and "GROUP BY account_id, order_date" in q["sql"]
    ]
    assert len(order_passes) == 1


def test_insert_columns_writes_each_value_and_the_defaults(tenant):
    from kehu.customers.bulk import insert_columns
    from kehu.predictions.models import RecommendedAction

    a, b = _accounts(tenant, 2)
    now = timezone.now()
    n = insert_columns(
        RecommendedAction,
        {
            "workspace_id": tenant.workspace.pk,
            "account_id": [a.pk, b.pk],
            "kind": ["call", "offer"],
            "reason": ["Last order 120 days ago", 'say "hi"\tnow'],
            "data": [{}, {"product_id": 7}],
            "churn_probability": [0.75, None],
            "created_at": now,
            "updated_at": now,
        },
    )
    assert n == 2
    with tenant.scope():
        rows = {r.account_id: r for r in RecommendedAction.objects.filter(workspace=tenant.workspace)}
    assert rows[a.pk].kind == "call" and rows[a.pk].churn_probability == 0.75 and rows[a.pk].data == {}
    assert rows[b.pk].reason == 'say "hi"\tnow' and rows[b.pk].data == {"product_id": 7}
    assert rows[b.pk].churn_probability is None
    assert rows[a.pk].status == RecommendedAction.Status.SUGGESTED  # the default of a column not given
