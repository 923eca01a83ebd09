from datetime import date
from decimal import Decimal

import pytest

from kehu.customers.models import Account
from kehu.predictions.models import ChurnModel, ClvModel, CustomerPrediction, RecommendedAction


@pytest.fixture
def scored(tenant):
    """Two accounts owned by the sales persona with stored predictions; one at risk with a suggestion."""
    ws = tenant.workspace
    sales = tenant.users["sales"]
    with tenant.scope():
        ClvModel.objects.create(
            workspace=ws,
            version=1,
            as_of=date(2026, 6, 30),
            customers=2,
            repeat_customers=1,
            params={
                "bgnbd": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
                "gamma_gamma": {"p": 6, "q": 3, "gamma": 15},
            },
            calibration={
                "customers": 2,
                "predicted_total": 3.1,
                "actual_total": 3,
                "mae": 0.5,
                "correlation": 0.9,
            },
        )
        ChurnModel.objects.create(
            workspace=ws,
            version=1,
            as_of=date(2026, 6, 30),
            auc=0.91,
            precision=0.8,
            recall=0.7,
            brier=0.1,
            threshold=0.4,
            train_size=100,
            test_size=90,
            features=["recency_days"],
        )
        risky = Account.objects.create(workspace=ws, name="Risky Ltd", owner=sales)
        safe = Account.objects.create(workspace=ws, name="Safe Ltd", owner=sales)
        CustomerPrediction.objects.create(
            workspace=ws,
            account=risky,
            expected_purchases=0.4,
            p_alive=0.3,
            predicted_spend=Decimal("80"),
            clv=Decimal("25.50"),
            churn_probability=0.83,
            clv_version=1,
            churn_version=1,
            reasons=[
                {"feature": "recency_days", "value": 150, "weight": 1.2, "text": "Last order 150 days ago"}
            ],
            next_action="call",
            next_action_reason="Churn risk 83% · Last order 150 days ago",
        )
        CustomerPrediction.objects.create(
            workspace=ws,
            account=safe,
            expected_purchases=5.0,
            p_alive=0.95,
            predicted_spend=Decimal("300"),
            clv=Decimal("1400.00"),
            churn_probability=0.05,
            clv_version=1,
            churn_version=1,
        )
        RecommendedAction.objects.create(
            workspace=ws,
            account=risky,
            kind="call",
            reason="Churn risk 83% · Last order 150 days ago",
            churn_probability=0.83,
        )
    return risky, safe
