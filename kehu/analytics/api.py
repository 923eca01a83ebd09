"""REST endpoints of customer analytics under ``/api/v1/analytics/``.

Settings and recomputes need the ``analytics.settings`` grant (administrators); the workspace-wide
figures (KPIs, cohorts, RFM grid, transitions) need ``view`` on ``analytics.report``; an account's
scores follow the account's own visibility (404 when the caller may not see it).
"""

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of
from kehu.core.errors import FieldError, ValidationFailed
from kehu.customers.models import Account
from kehu.workspaces.access import access_record, require

from . import kpis, queries, services
from .engine import months_before
from .models import AnalyticsRun
from .panels import scores_of

router = Router(tags=["analytics"])


class SettingsOut(Schema):
    new_customer_days: int
    at_risk_factor: float
    at_risk_floor_days: int
    at_risk_ceiling_days: int
    default_interval_days: int
    churn_days: int
    value_months: int
    rfm_method: str
    rfm_bins: dict
    grade_method: str
    tiers: list[dict]
    weights: dict
    potential_source: str
    loyalty_source: str
    cost_per_ticket: float
    cost_per_complaint: float
    cost_per_visit: float
    valuable_share: int
    growth_pct: int


class SettingsIn(InputSchema):
    new_customer_days: int | None = None
    at_risk_factor: float | None = None
    at_risk_floor_days: int | None = None
    at_risk_ceiling_days: int | None = None
    default_interval_days: int | None = None
    churn_days: int | None = None
    value_months: int | None = None
    rfm_method: str | None = Field(None, description="quintiles | bins")
    rfm_bins: dict | None = Field(None, description='{"r": [4 edges], "f": [...], "m": [...]}')
    grade_method: str | None = Field(None, description="thresholds | quantiles")
    tiers: list[dict] | None = Field(None, description="[{key, label, min_score, share}], highest first")
    weights: dict | None = Field(None, description="{value, potential, loyalty, margin}")
    potential_source: str | None = Field(None, description="pipeline | size")
    loyalty_source: str | None = Field(None, description="tenure | orders")
    cost_per_ticket: float | None = None
    cost_per_complaint: float | None = None
    cost_per_visit: float | None = None
    valuable_share: int | None = None
    growth_pct: int | None = None


def _settings(workspace) -> dict:
    life, value = services.lifecycle_settings(workspace), services.value_settings(workspace)
    return {name: getattr(life, name) for name in services.LIFECYCLE_FIELDS} | {
        name: getattr(value, name) for name in services.VALUE_FIELDS
    }


@router.get("/analytics/settings", response=SettingsOut, summary="Lifecycle, grading, RFM and cost settings")
def get_settings(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", services.SETTINGS_TYPE)
    return _settings(actor.workspace)


@router.patch("/analytics/settings", response=SettingsOut, summary="Change analytics settings")
def patch_settings(request: HttpRequest, payload: SettingsIn):
    actor = actor_of(request)
    services.update_settings(actor, payload.dict(exclude_unset=True))
    return _settings(actor.workspace)


class RecomputeIn(InputSchema):
    kind: str = Field("full", description="full | incremental")


class QueuedOut(Schema):
    queued: bool
    task_id: str


@router.post(
    "/analytics/recompute", response={202: QueuedOut}, summary="Recompute all scores in the background"
)
def recompute(request: HttpRequest, payload: RecomputeIn):
    task_id = services.request_recompute(actor_of(request), payload.kind)
    return Status(202, {"queued": True, "task_id": task_id})


class RunOut(Schema):
    id: int
    kind: str
    status: str
    as_of: date
    started_at: Any
    finished_at: Any = None
    accounts: int
    stats: dict
    cuts: dict
    error: str


@router.get("/analytics/runs", response=list[RunOut], summary="The last computations with their timings")
def runs(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", services.SETTINGS_TYPE)
    return list(AnalyticsRun.objects.order_by("-started_at", "-pk")[:20])


def _range(start: date | None, end: date | None, months: int) -> tuple[date, date]:
    end = end or timezone.localdate()
    start = start or months_before(end, months - 1).replace(day=1)
    if start > end:
        raise ValidationFailed([FieldError("start", _("The start is after the end."), "invalid")])
    return start, end


class KpiQuery(Schema):
    period: str = Field("month", description="month | quarter")
    start: date | None = Field(None, description="Default: 12 months (8 quarters) back")
    end: date | None = None


class KpiOut(Schema):
    period: str
    start: date
    end: date
    new_customers: int
    prospects_at_start: int
    first_purchases: int
    first_purchase_rate: float | None
    buyers: int
    repeat_buyers: int
    repeat_purchase_rate: float | None
    active_at_start: int
    churned: int
    churn_rate: float | None
    won_back: int


@router.get("/analytics/kpis", response=list[KpiOut], summary="Lifecycle KPIs per month or quarter")
def kpi_list(request: HttpRequest, filters: Query[KpiQuery]):
    actor = actor_of(request)
    require(actor, "view", services.REPORT_TYPE)
    if filters.period not in ("month", "quarter"):
        raise ValidationFailed([FieldError("period", _("month or quarter"), "invalid_choice")])
    start, end = _range(filters.start, filters.end, 24 if filters.period == "quarter" else 12)
    return kpis.compute_kpis(actor.workspace, filters.period, start, end)


class CohortQuery(Schema):
    start: date | None = None
    end: date | None = None


class CohortOut(Schema):
    cohort: str
    size: int
    retained: list[int]
    rates: list[float]


@router.get(
    "/analytics/cohorts", response=list[CohortOut], summary="Cohort retention matrix (by first-order month)"
)
def cohorts(request: HttpRequest, filters: Query[CohortQuery]):
    actor = actor_of(request)
    require(actor, "view", services.REPORT_TYPE)
    start, end = _range(filters.start, filters.end, 12)
    return kpis.cohort_matrix(actor.workspace, start, end)


@router.get("/analytics/rfm", summary="RFM grid (R × FM counts) and segment counts")
def rfm(request: HttpRequest) -> dict:
    actor = actor_of(request)
    require(actor, "view", services.REPORT_TYPE)
    return queries.rfm_grid(actor.workspace)


class TransitionQuery(Schema):
    from_date: date | None = Field(None, alias="from", description="Default: 30 days before `to`")
    to_date: date | None = Field(None, alias="to", description="Default: today")


@router.get(
    "/analytics/rfm/transitions", summary="Accounts moving between RFM segments from one date to another"
)
def rfm_transitions(request: HttpRequest, filters: Query[TransitionQuery]) -> dict:
    actor = actor_of(request)
    require(actor, "view", services.REPORT_TYPE)
    to_date = filters.to_date or timezone.localdate()
    from_date = filters.from_date or to_date - timedelta(days=30)
    return queries.transitions(actor.workspace, from_date, to_date)


@router.get("/analytics/accounts/{account_id}", summary="An account's lifecycle stage, grade, RFM and value")
def account_scores(request: HttpRequest, account_id: int) -> dict:
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id)
    return scores_of(account)


class OverrideIn(InputSchema):
    stage: str = Field(..., description="prospect | new | active | at_risk | churned | won_back")
    reason: str = Field(..., max_length=1000)


@router.put("/analytics/accounts/{account_id}/lifecycle", summary="Set the lifecycle stage by hand")
def set_stage(request: HttpRequest, account_id: int, payload: OverrideIn) -> dict:
    actor = actor_of(request)
    services.set_override(actor, account_id, payload.stage, payload.reason)
    return scores_of(access_record(actor, Account.objects.all(), account_id))


@router.delete(
    "/analytics/accounts/{account_id}/lifecycle", summary="Clear the manual stage (derived applies)"
)
def clear_stage(request: HttpRequest, account_id: int) -> dict:
    actor = actor_of(request)
    services.clear_override(actor, account_id)
    return scores_of(access_record(actor, Account.objects.all(), account_id))
