"""REST endpoints: the forecast, the sales reports and sales targets (thin: parse → queries/services).

Periods: ``period=2026-Q4`` or ``2026-11`` (default: the current quarter in the workspace's time
zone); reports also take ``from``/``to`` (days, inclusive). Amounts are in the base currency.
"""

from datetime import date
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.core.errors import NotFound
from kehu.workspaces.access import Actor, access_record, require, visible

from . import queries, services
from .models import SalesTarget
from .periods import Period, parse_period, parse_range

router = Router(tags=["forecast"])


# --- schemas ---------------------------------------------------------------------------------------


class PeriodOut(Schema):
    key: str = Field(..., description="2026-Q4, 2026-11, or from..to")
    kind: str = Field(..., description="quarter | month | range")
    start: date
    end: date = Field(..., description="Last day, inclusive")
    label: str


class ForecastLineOut(Schema):
    id: int | None = Field(None, description="User or team id; null for the total or 'no team'")
    name: str
    open_count: int
    pipeline_amount: Decimal = Field(..., description="Open deals closing in the period (not omitted)")
    weighted_amount: Decimal = Field(..., description="Σ amount × probability")
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal = Field(..., description="Open amount in the 'pipeline' forecast category")
    won_count: int
    won_amount: Decimal = Field(..., description="Deals won (closed) in the period")
    projected: Decimal = Field(..., description="won + commit")
    quota: Decimal | None
    attainment: Decimal | None = Field(None, description="won / quota in percent")
    gap: Decimal | None = Field(None, description="quota − won, at least 0")


class ForecastOut(Schema):
    period: PeriodOut
    currency: str
    total: ForecastLineOut
    owners: list[ForecastLineOut]
    teams: list[ForecastLineOut]


class FunnelStepOut(Schema):
    key: str = Field(..., description="leads | qualified | opportunities | won")
    label: str
    count: int
    rate: Decimal | None = Field(None, description="Percent of the previous step")
    rate_of_leads: Decimal | None = Field(None, description="Percent of the leads")


class FunnelOut(Schema):
    period: PeriodOut
    steps: list[FunnelStepOut]
    conversion: Decimal | None = Field(None, description="won / leads in percent")


class WinRateOut(Schema):
    period: PeriodOut
    currency: str
    won: int
    lost: int
    closed: int
    win_rate: Decimal | None = Field(None, description="won / (won + lost) in percent")
    won_amount: Decimal
    average_deal_size: Decimal | None
    cycle_mean_days: Decimal | None = Field(None, description="Created → won, mean")
    cycle_median_days: Decimal | None


class StageRowOut(Schema):
    stage_id: int
    name: str
    position: int
    is_won: bool
    is_lost: bool
    reached: int | None = Field(
        None, description="Deals of the cohort that reached this stage or a later one"
    )
    to_next: Decimal | None = Field(None, description="Percent of those that reached the next stage")
    stays: int = Field(..., description="Stays in this stage that ended in the period")
    avg_days_in_stage: Decimal | None


class StageConversionOut(Schema):
    period: PeriodOut
    pipeline_id: int | None
    pipeline: str
    cohort: int = Field(..., description="Deals created in the period that entered the pipeline")
    stages: list[StageRowOut]


class LostReasonOut(Schema):
    reason: str
    count: int
    share: Decimal | None
    amount: Decimal


class LostReasonsOut(Schema):
    period: PeriodOut
    currency: str
    lost: int
    reasons: list[LostReasonOut]


class ForecastParams(Schema):
    period: str | None = Field(None, description="2026-Q4 or 2026-11; default the current quarter")
    owner: int | None = Field(None, description="Only this owner's deals")
    team: int | None = Field(None, description="Only deals of this team")


class ReportParams(ForecastParams):
    from_: date | None = Field(None, alias="from", description="First day (with 'to'); overrides period")
    to: date | None = Field(None, description="Last day, inclusive")


class StageParams(ReportParams):
    pipeline: int | None = Field(None, description="Default: the default pipeline")


class SalesTargetOut(Schema):
    id: int
    owner_id: int | None = Field(None, description="The salesperson (or null for a team target)")
    team_id: int | None
    period: str = Field(..., description="2026-Q4 or 2026-11")
    kind: str = Field(..., description="month | quarter")
    start_date: date
    end_date: date
    amount: Decimal = Field(..., description="In the base currency")

    @staticmethod
    def resolve_period(obj: SalesTarget) -> str:
        return Period(obj.period, obj.start_date, obj.end_date).key

    @staticmethod
    def resolve_kind(obj: SalesTarget) -> str:
        return obj.period


class SalesTargetIn(InputSchema):
    owner_id: int | None = Field(None, description="A member; or give team_id")
    team_id: int | None = None
    period: str = Field(..., description="2026-Q4 or 2026-11")
    amount: Decimal = Field(..., ge=0)


class SalesTargetPatch(InputSchema):
    amount: Decimal = Field(..., ge=0)


class SalesTargetItem(InputSchema):
    owner_id: int | None = None
    team_id: int | None = None
    period: str
    amount: Decimal | None = Field(None, ge=0, description="null removes the target")


class SalesTargetBulkIn(InputSchema):
    items: list[SalesTargetItem] = Field(..., max_length=services.MAX_GRID_ITEMS)


class SalesTargetBulkOut(Schema):
    created: int
    updated: int
    deleted: int


class TargetFilters(Schema):
    period: str | None = Field(None, description="Targets inside this quarter or month")
    owner: int | None = None
    team: int | None = None


# --- helpers ---------------------------------------------------------------------------------------


def _period_out(period: Period) -> dict:
    return {
        "key": period.key,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
        "label": period.label,
    }


def _range(actor: Actor, params: ReportParams) -> Period:
    return parse_range(params.from_, params.to, params.period, actor.workspace)


# --- forecast and reports --------------------------------------------------------------------------


@router.get("/forecast", response=ForecastOut, summary="Forecast of a month or quarter")
def get_forecast(request: HttpRequest, params: Query[ForecastParams]):
    """Pipeline, weighted, commit / best case / pipeline, closed won, quota, attainment and gap, in
    total, per owner and per team, of the deals the caller may see."""
    actor = actor_of(request)
    period = parse_period(params.period, actor.workspace)
    result = queries.forecast(actor, period, owner_id=params.owner, team_id=params.team)
    return {
        "period": _period_out(period),
        "currency": result.currency,
        "total": result.total.as_dict(),
        "owners": [line.as_dict() for line in result.owners],
        "teams": [line.as_dict() for line in result.teams],
    }


@router.get("/reports/funnel", response=FunnelOut, summary="Lead → qualified → opportunity → won")
def report_funnel(request: HttpRequest, params: Query[ReportParams]):
    """The leads created in the range (the cohort) and how far they got."""
    actor = actor_of(request)
    period = _range(actor, params)
    return {
        "period": _period_out(period),
        **queries.funnel(actor, period, owner_id=params.owner, team_id=params.team),
    }


@router.get("/reports/win-rate", response=WinRateOut, summary="Win rate, deal size, sales cycle")
def report_win_rate(request: HttpRequest, params: Query[ReportParams]):
    """Deals closed in the range: won / (won + lost), average won amount, days from created to won."""
    actor = actor_of(request)
    period = _range(actor, params)
    stats = queries.win_stats(actor, period, owner_id=params.owner, team_id=params.team)
    return {"period": _period_out(period), "currency": actor.workspace.base_currency, **stats}


@router.get(
    "/reports/stage-conversion", response=StageConversionOut, summary="Stage conversion, time in stage"
)
def report_stage_conversion(request: HttpRequest, params: Query[StageParams]):
    """Per stage of a pipeline: how many deals created in the range reached it and went on to the
    next stage, and the average days spent in it (stays that ended in the range)."""
    actor = actor_of(request)
    period = _range(actor, params)
    require(actor, "view", "deals.opportunity")
    pipeline = queries.pipeline_for(actor, params.pipeline)
    if pipeline is None:
        if params.pipeline:
            raise NotFound()
        return {"period": _period_out(period), "pipeline_id": None, "pipeline": "", "cohort": 0, "stages": []}
    report = queries.stage_report(actor, pipeline, period, owner_id=params.owner, team_id=params.team)
    return {"period": _period_out(period), **report}


@router.get("/reports/lost-reasons", response=LostReasonsOut, summary="Why deals were lost")
def report_lost_reasons(request: HttpRequest, params: Query[ReportParams]):
    actor = actor_of(request)
    period = _range(actor, params)
    report = queries.lost_reasons(actor, period, owner_id=params.owner, team_id=params.team)
    return {"period": _period_out(period), "currency": actor.workspace.base_currency, **report}


# --- sales targets ---------------------------------------------------------------------------------


@router.get("/sales-targets", response=list[SalesTargetOut], summary="Sales targets the caller may see")
@keyset(orderings=("start_date", "created_at"), default="start_date")
def list_targets(request: HttpRequest, filters: Query[TargetFilters]):
    actor = actor_of(request)
    require(actor, "view", SalesTarget.object_type)
    qs = visible(actor, SalesTarget.objects.all())
    if filters.period:
        period = parse_period(filters.period, actor.workspace)
        qs = qs.filter(start_date__gte=period.start, end_date__lte=period.end)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    return qs


@router.post("/sales-targets", response={201: SalesTargetOut}, summary="Set a target (create or replace)")
def create_target(request: HttpRequest, payload: SalesTargetIn):
    """Administrators, and managers for their teams' people; setting the same user/team and period
    again replaces the amount."""
    return Status(201, services.set_target(actor_of(request), **payload.dict()))


@router.post("/sales-targets/bulk", response=SalesTargetBulkOut, summary="Set many targets (a grid)")
def bulk_targets(request: HttpRequest, payload: SalesTargetBulkIn):
    """All or nothing; ``amount: null`` removes a target; errors name ``items.<i>.<field>``."""
    return services.set_targets(actor_of(request), [item.dict() for item in payload.items])


def _target(actor: Actor, pk: int) -> SalesTarget:
    return access_record(actor, SalesTarget.objects.all(), pk)


@router.get("/sales-targets/{target_id}", response=SalesTargetOut, summary="One sales target")
def get_target(request: HttpRequest, target_id: int):
    return _target(actor_of(request), target_id)


@router.patch("/sales-targets/{target_id}", response=SalesTargetOut, summary="Change a target's amount")
def update_target(request: HttpRequest, target_id: int, payload: SalesTargetPatch):
    actor = actor_of(request)
    return services.update_target(actor, _target(actor, target_id), amount=payload.amount)


@router.delete("/sales-targets/{target_id}", response={204: None}, summary="Remove a target")
def delete_target(request: HttpRequest, target_id: int):
    actor = actor_of(request)
    services.delete_target(actor, _target(actor, target_id))
    return Status(204, None)
