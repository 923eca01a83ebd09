"""REST endpoints of predictions: model figures, refit, an account's predictions, next best action → task."""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.core.api import actor_of
from kehu.customers.models import Account
from kehu.workspaces.access import access_record, require

from . import queries, services
from .models import ClvModel
from .tasks import refit

router = Router(tags=["predictions"])


class ClvModelOut(Schema):
    version: int
    status: str
    fitted_at: datetime
    as_of: date
    duration_ms: int
    customers: int
    repeat_customers: int
    params: dict[str, Any] = Field(..., description="bgnbd: r, alpha, a, b (weeks); gamma_gamma: p, q, gamma")
    loglik: float | None
    calibration: dict[str, Any] = Field(
        ...,
        description="Holdout check: cutoff, holdout_days, predicted_total, actual_total, mae, correlation",
    )
    horizon_months: int
    monthly_discount: float
    message: str


class ChurnModelOut(Schema):
    version: int
    status: str
    trained_at: datetime
    as_of: date
    duration_ms: int
    window_days: int
    train_cutoff: date | None
    test_cutoff: date | None
    train_size: int
    test_size: int
    churn_rate: float | None
    auc: float | None = Field(..., description="On the test window after the training window")
    precision: float | None
    recall: float | None
    brier: float | None
    threshold: float
    features: list[str]
    message: str


class ModelsOut(Schema):
    clv: ClvModelOut | None
    churn: ChurnModelOut | None


@router.get(
    "/predictions/models", response=ModelsOut, summary="The latest CLV and churn models with their figures"
)
def models(request: HttpRequest):
    require(actor_of(request), "view", ClvModel.object_type)
    clv, churn = queries.latest_models()
    return {"clv": clv, "churn": churn}


class QueuedOut(Schema):
    queued: bool


@router.post(
    "/predictions/refit", response={202: QueuedOut}, summary="Refit both models and rescore (background)"
)
def refit_models(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "change", ClvModel.object_type)
    refit.enqueue(actor.workspace.pk)
    return Status(202, {"queued": True})


@router.get("/predictions/accounts/{account_id}", response=dict[str, Any], summary="An account's predictions")
def account_prediction(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id)
    return queries.account_data(actor, account)


class ActionOut(Schema):
    id: int
    account_id: int
    kind: str
    reason: str
    status: str
    task_id: int | None
    outcome: str


@router.post(
    "/predictions/accounts/{account_id}/action/task",
    response={201: ActionOut},
    summary="Turn the account's next best action into a task for its owner",
)
def take_action(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id)
    return Status(201, services.take_action(actor, account))


@router.post(
    "/predictions/accounts/{account_id}/action/dismiss",
    response=ActionOut,
    summary="Dismiss the next best action",
)
def dismiss_action(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id)
    return services.dismiss_action(actor, account)


class AtRiskOut(Schema):
    account_id: int
    name: str
    churn_probability: float
    clv: str | None
    reasons: list[dict[str, Any]]
    next_action: str
    next_action_reason: str


@router.get(
    "/predictions/at-risk", response=list[AtRiskOut], summary="Visible accounts above the at-risk threshold"
)
def at_risk(request: HttpRequest, limit: int = 50):
    rows = queries.at_risk(actor_of(request), max(1, min(limit, 500)))
    return [
        {
            "account_id": r.account_id,
            "name": r.account.name,
            "churn_probability": r.churn_probability,
            "clv": None if r.clv is None else str(r.clv),
            "reasons": r.reasons,
            "next_action": r.next_action,
            "next_action_reason": r.next_action_reason,
        }
        for r in rows
    ]


@router.get("/predictions/actions/summary", response=dict[str, Any], summary="Actions taken → outcome")
def actions_summary(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", Account.object_type)
    return services.action_summary(actor.workspace)
