"""Reads of predictions for pages, the API and other apps (reports' customer-value dashboard)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kehu.customers.models import Account
from kehu.workspaces.access import Actor, visible

from .models import ChurnModel, ClvModel, CustomerPrediction, FitStatus, RecommendedAction


def latest(model):
    """The newest fitted ``ClvModel`` / ``ChurnModel``, or None."""
    return model.objects.filter(status=FitStatus.FITTED).order_by("-version").first()


def latest_models() -> tuple[ClvModel | None, ChurnModel | None]:
    return latest(ClvModel), latest(ChurnModel)


def threshold() -> float:
    churn = (
        ChurnModel.objects.filter(status=FitStatus.FITTED)
        .order_by("-version")
        .values_list("threshold", flat=True)
    )
    return churn.first() or 0.5


def prediction_of(account) -> CustomerPrediction | None:
    return CustomerPrediction.objects.filter(account=account).first()


def account_data(actor: Actor, account) -> dict:
    """The account's predictions as JSON, with when and from which model versions they were computed."""
    row = prediction_of(account)
    action = RecommendedAction.objects.filter(account=account).order_by("-id").first()
    if row is None:
        return {
            "available": False,
            "message": _(
                "Not computed yet: the account has no confirmed orders, "
                "or the nightly scoring has not run since it got one."
            ),
        }
    cutoff = threshold()
    return {
        "available": True,
        "expected_purchases_12m": row.expected_purchases,
        "p_alive": row.p_alive,
        "predicted_spend": None if row.predicted_spend is None else str(row.predicted_spend),
        "clv_12m": None if row.clv is None else str(row.clv),
        "churn_probability": row.churn_probability,
        "at_risk": row.churn_probability is not None and row.churn_probability >= cutoff,
        "threshold": cutoff,
        "reasons": row.reasons,
        "next_action": (
            {
                "kind": row.next_action,
                "label": str(RecommendedAction.Kind(row.next_action).label),
                "reason": row.next_action_reason,
                "data": row.next_action_data,
            }
            if row.next_action
            else None
        ),
        "last_action": (
            {
                "id": action.pk,
                "kind": action.kind,
                "status": action.status,
                "outcome": action.outcome,
                "task_id": action.task_id,
            }
            if action
            else None
        ),
        "computed_at": row.computed_at,
        "clv_model_version": row.clv_version,
        "churn_model_version": row.churn_version,
        "source": _(
            "BG/NBD + Gamma-Gamma on confirmed orders; churn: logistic regression on orders, "
            "interactions, tickets and feedback"
        ),
    }


def at_risk(actor: Actor, limit: int = 50):
    """The visible accounts with the highest churn risk (at or above the model's threshold)."""
    cutoff = threshold()
    accounts = visible(actor, Account.objects.all()).values("pk")
    return (
        CustomerPrediction.objects.filter(account_id__in=accounts, churn_probability__gte=cutoff)
        .select_related("account", "account__owner")
        .order_by("-churn_probability", "account_id")[:limit]
    )


def top_churn_risks(actor: Actor, limit: int = 10) -> list[tuple]:
    """(account, probability, top reason, next action label or None) — for the reports dashboard."""
    out = []
    for row in at_risk(actor, limit):
        reason = row.reasons[0]["text"] if row.reasons else ""
        label = str(RecommendedAction.Kind(row.next_action).label) if row.next_action else None
        out.append((row.account, row.churn_probability, reason, label))
    return out


def model_report() -> dict:
    clv, churn = latest_models()
    return {
        "clv": clv,
        "churn": churn,
        "clv_runs": list(ClvModel.objects.order_by("-version")[:10]),
        "churn_runs": list(ChurnModel.objects.order_by("-version")[:10]),
    }
