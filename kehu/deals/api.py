"""REST endpoints for opportunities, pipelines, stages and the board (thin: schema → services / queries)."""

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.customfields.api import custom_field, custom_resolver
from kehu.customfields.queries import apply_params as apply_custom_filters
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import Actor, access_record, require

from . import queries, services
from .models import Opportunity, OpportunityLine, Pipeline, Stage

router = Router(tags=["opportunities"])


# --- schemas ---------------------------------------------------------------------------------------


class ContactRoleIO(Schema):
    contact_id: int
    role: str = Field(
        "other",
        description="decision_maker | economic_buyer | champion | influencer | technical | user | other",
    )
    is_primary: bool = False


class LineIn(InputSchema):
    product_id: int | None = Field(
        None, description="A catalog product (its name and price are the defaults)"
    )
    description: str = Field("", max_length=300)
    quantity: Decimal = Field(Decimal(1), description="> 0, up to 3 decimals")
    unit_price: Decimal | None = Field(None, description="Defaults to the product's price")
    discount_percent: Decimal = Field(Decimal(0), description="0–100")


class LineOut(Schema):
    id: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal


class OpportunityOut(Schema):
    id: int
    name: str
    account_id: int
    pipeline_id: int
    stage_id: int
    stage_entered_at: datetime
    amount: Decimal
    currency: str
    base_amount: Decimal = Field(..., description="The amount in the workspace's base currency")
    expected_close_date: date | None
    probability: int
    forecast_category: str = Field(..., description="pipeline | best_case | commit | closed | omitted")
    status: str = Field(..., description="open | won | lost (follows the stage)")
    closed_at: datetime | None
    lost_reason: str
    competitors: list[str]
    next_step: str
    source: str
    campaign: str
    description: str
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime
    custom: dict = custom_field()

    resolve_custom = custom_resolver("deals.opportunity")


class StageChangeOut(Schema):
    from_stage_id: int | None
    to_stage_id: int | None
    changed_at: datetime
    changed_by_id: int | None
    seconds_in_previous: int | None


class OpportunityDetailOut(OpportunityOut):
    contacts: list[ContactRoleIO]
    lines: list[LineOut]
    tags: list[str]
    stage_history: list[StageChangeOut] = Field(..., description="Newest first")


class OpportunityIn(InputSchema):
    name: str = Field(..., max_length=200)
    account_id: int
    pipeline_id: int | None = Field(None, description="Defaults to the default pipeline")
    stage_id: int | None = Field(None, description="Defaults to the pipeline's first open stage")
    amount: Decimal = Field(Decimal(0), description="Ignored when lines are given (their sum)")
    currency: str = Field("", max_length=3, description="ISO 4217; defaults to the base currency")
    expected_close_date: date | None = None
    probability: int | None = Field(None, description="0–100; defaults to the stage's")
    forecast_category: str | None = Field(None, description="Defaults from the probability and status")
    lost_reason: str = Field("", max_length=200)
    competitors: list[str] = Field(default_factory=list)
    next_step: str = Field("", max_length=300)
    source: str = Field("", max_length=100)
    campaign: str = Field("", max_length=200)
    description: str = ""
    contacts: list[ContactRoleIO] | None = Field(None, description="Replaces the deal's contacts")
    lines: list[LineIn] | None = Field(None, description="Replaces the product lines")
    tags: list[str] | None = None
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None
    custom: dict | None = custom_field(input=True)


OpportunityPatch = patch_schema(OpportunityIn, "OpportunityPatch")


class OpportunityFilters(Schema):
    q: str = Field("", description="Deal or account name contains")
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = Field(None, description="open | won | lost")
    account_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    forecast_category: str | None = None
    close_from: date | None = Field(None, description="expected_close_date ≥")
    close_to: date | None = Field(None, description="expected_close_date ≤")


class MoveIn(InputSchema):
    stage_id: int
    lost_reason: str | None = Field(None, max_length=200, description="Required when the stage is a lost one")


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool
    required_fields: list[str]


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    is_default: bool
    active: bool
    stages: list[StageOut]


class StageIn(InputSchema):
    name: str = Field(..., max_length=100)
    probability: int | None = Field(None, ge=0, le=100, description="Defaults to 100 for won, else 0")
    is_won: bool = False
    is_lost: bool = False
    required_fields: list[str] = Field(
        default_factory=list,
        description="Fields to fill before entering: "
        + ", ".join(services.REQUIRABLE_FIELDS)
        + ", custom.<key>",
    )
    position: int | None = Field(None, ge=0, description="0-based; defaults to after the open stages")


StagePatch = patch_schema(StageIn, "StagePatch")


class PipelineIn(InputSchema):
    name: str = Field(..., max_length=100)
    active: bool = True
    is_default: bool = False
    stages: list[StageIn] | None = Field(None, description="Defaults to a won and a lost stage")


class PipelinePatch(InputSchema):
    name: str | None = Field(None, max_length=100)
    active: bool | None = None
    is_default: bool | None = None
    position: int | None = Field(None, ge=0)
    stage_order: list[int] | None = Field(
        None, description="Every stage id of the pipeline, in the new order"
    )


class MoveTarget(Schema):
    move_to_stage_id: int | None = Field(None, description="Where the deals of the deleted item go")


class CardOut(Schema):
    """A board card: what the card shows; the whole deal is ``GET /opportunities/{id}``."""

    id: int
    name: str
    account_id: int
    account_name: str
    stage_id: int
    amount: Decimal
    currency: str
    base_amount: Decimal = Field(..., description="The amount in the workspace's base currency")
    probability: int
    expected_close_date: date | None
    status: str = Field(..., description="open | won | lost")
    owner_id: int | None
    owner_name: str | None
    team_id: int | None
    updated_at: datetime


class ColumnOut(Schema):
    stage: StageOut
    count: int
    amount: Decimal = Field(..., description="Sum in the base currency")
    weighted_amount: Decimal = Field(..., description="Σ amount × probability, base currency")
    cards: list[CardOut]
    next_cursor: str | None = Field(None, description="GET /pipelines/{id}/board/stages/{stage_id}?cursor=")


class BoardOut(Schema):
    pipeline: PipelineOut
    currency: str
    columns: list[ColumnOut]


class CardsOut(Schema):
    items: list[CardOut]
    next_cursor: str | None


class BoardFiltersIn(Schema):
    owner_id: int | None = None
    team_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    q: str = ""


# --- helpers ---------------------------------------------------------------------------------------


def _detail(opp: Opportunity) -> dict:
    lines = list(OpportunityLine.objects.filter(opportunity=opp).order_by("position", "id"))
    return {
        **OpportunityOut.from_orm(opp).dict(),
        "contacts": [
            {"contact_id": c.contact_id, "role": c.role, "is_primary": c.is_primary}
            for c in queries.contact_roles(opp)
        ],
        "lines": lines,
        "tags": services.tags_of(opp),
        "stage_history": queries.stage_history(opp),
    }


def _opportunity(actor: Actor, pk: int, action: str = "view") -> Opportunity:
    return access_record(actor, Opportunity.objects.all(), pk, action)


def _pipeline(actor: Actor, pk: int) -> Pipeline:
    require(actor, "view", services.PIPELINE_TYPE)
    services.default_pipeline(actor.workspace)
    pipeline = Pipeline.objects.filter(pk=pk).prefetch_related("stages").first()
    if pipeline is None:
        raise NotFound()
    return pipeline


def _stage(actor: Actor, pk: int | None, field: str = "stage_id") -> Stage | None:
    if pk is None:
        return None
    stage = Stage.objects.filter(pk=pk).select_related("pipeline").first()
    if stage is None:
        raise ValidationFailed([FieldError(field, _("Unknown stage."), "invalid")])
    return stage


def _pipeline_out(pipeline: Pipeline) -> dict:
    stages = sorted(pipeline.stages.all(), key=lambda s: (s.position, s.pk))
    return {
        **{k: getattr(pipeline, k) for k in ("id", "name", "position", "is_default", "active")},
        "stages": stages,
    }


# --- opportunities ---------------------------------------------------------------------------------


@router.get("/opportunities", response=list[OpportunityOut], summary="Opportunities the caller may see")
@keyset(
    orderings=("created_at", "updated_at", "expected_close_date", "amount", "name"), default="-created_at"
)
def list_opportunities(request: HttpRequest, filters: Query[OpportunityFilters]):
    """Also filters on custom fields (``?custom.<key>=v``, ``__gte`` …) and by ``?filters=<JSON spec>``
    (AND/OR groups, docs/lists.md)."""
    actor = actor_of(request)
    values = filters.dict()
    qs = queries.opportunities_for(actor, values.pop("q"))
    close_from, close_to = values.pop("close_from"), values.pop("close_to")
    qs = qs.filter(**{k: v for k, v in values.items() if v is not None})
    if close_from:
        qs = qs.filter(expected_close_date__gte=close_from)
    if close_to:
        qs = qs.filter(expected_close_date__lte=close_to)
    return apply_api_filters(actor, apply_custom_filters(actor, qs, request.GET), request)


@router.post("/opportunities", response={201: OpportunityDetailOut}, summary="Create an opportunity")
def create_opportunity(request: HttpRequest, payload: OpportunityIn):
    values = payload.dict()
    for name in ("probability", "forecast_category", "pipeline_id", "stage_id"):
        if values.get(name) is None:
            values.pop(name)
    return Status(201, _detail(services.create_opportunity(actor_of(request), **values)))


@router.get("/opportunities/{opportunity_id}", response=OpportunityDetailOut, summary="One opportunity")
def get_opportunity(request: HttpRequest, opportunity_id: int):
    return _detail(_opportunity(actor_of(request), opportunity_id))


@router.patch(
    "/opportunities/{opportunity_id}", response=OpportunityDetailOut, summary="Change an opportunity"
)
def update_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch):
    """``stage_id`` moves the deal (the stage's required fields are checked after the other changes)."""
    actor = actor_of(request)
    opp = _opportunity(actor, opportunity_id, "change")
    return _detail(services.update_opportunity(actor, opp, **payload.dict(exclude_unset=True)))


@router.post(
    "/opportunities/{opportunity_id}/move", response=OpportunityDetailOut, summary="Move to another stage"
)
def move_opportunity(request: HttpRequest, opportunity_id: int, payload: MoveIn):
    """Refused with 422 and one error per missing required field of the stage (nothing changes);
    a lost stage needs ``lost_reason``."""
    actor = actor_of(request)
    opp = _opportunity(actor, opportunity_id, "change")
    stage = _stage(actor, payload.stage_id)
    return _detail(services.move_to_stage(actor, opp, stage, lost_reason=payload.lost_reason))


@router.delete("/opportunities/{opportunity_id}", response={204: None}, summary="Delete an opportunity")
def delete_opportunity(request: HttpRequest, opportunity_id: int):
    actor = actor_of(request)
    services.delete_opportunity(actor, _opportunity(actor, opportunity_id, "delete"))
    return Status(204, None)


# --- pipelines and stages --------------------------------------------------------------------------


@router.get("/pipelines", response=list[PipelineOut], summary="Pipelines with their stages")
def list_pipelines(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", services.PIPELINE_TYPE)
    services.default_pipeline(actor.workspace)
    return [_pipeline_out(p) for p in queries.pipelines_for(actor).prefetch_related("stages")]


@router.post("/pipelines", response={201: PipelineOut}, summary="Create a pipeline (administrators)")
def create_pipeline(request: HttpRequest, payload: PipelineIn):
    actor = actor_of(request)
    values = payload.dict()
    if values["stages"] is not None:
        values["stages"] = [{k: v for k, v in s.items() if v is not None} for s in values["stages"]]
    pipeline = services.create_pipeline(actor, **values)
    return Status(201, _pipeline_out(_pipeline(actor, pipeline.pk)))


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, summary="One pipeline")
def get_pipeline(request: HttpRequest, pipeline_id: int):
    return _pipeline_out(_pipeline(actor_of(request), pipeline_id))


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut, summary="Rename, reorder, (de)activate")
def update_pipeline(request: HttpRequest, pipeline_id: int, payload: PipelinePatch):
    actor = actor_of(request)
    pipeline = _pipeline(actor, pipeline_id)
    values = payload.dict(exclude_unset=True)
    order = values.pop("stage_order", None)
    services.update_pipeline(actor, pipeline, **values)
    if order is not None:
        services.reorder_stages(actor, pipeline, order)
    return _pipeline_out(_pipeline(actor, pipeline_id))


@router.delete("/pipelines/{pipeline_id}", response={204: None}, summary="Delete a pipeline")
def delete_pipeline(request: HttpRequest, pipeline_id: int, target: Query[MoveTarget]):
    """Refused (409) while it has deals, unless ``?move_to_stage_id=`` names a stage of another pipeline."""
    actor = actor_of(request)
    pipeline = _pipeline(actor, pipeline_id)
    services.delete_pipeline(actor, pipeline, move_to=_stage(actor, target.move_to_stage_id, "move_to"))
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut}, summary="Add a stage")
def create_stage(request: HttpRequest, pipeline_id: int, payload: StageIn):
    actor = actor_of(request)
    pipeline = _pipeline(actor, pipeline_id)
    values = {k: v for k, v in payload.dict().items() if v is not None}
    return Status(201, services.create_stage(actor, pipeline, **values))


def _stage_of(actor: Actor, pipeline_id: int, stage_id: int) -> Stage:
    pipeline = _pipeline(actor, pipeline_id)
    stage = Stage.objects.filter(pk=stage_id, pipeline=pipeline).select_related("pipeline").first()
    if stage is None:
        raise NotFound()
    return stage


@router.patch("/pipelines/{pipeline_id}/stages/{stage_id}", response=StageOut, summary="Change a stage")
def update_stage(request: HttpRequest, pipeline_id: int, stage_id: int, payload: StagePatch):
    actor = actor_of(request)
    stage = _stage_of(actor, pipeline_id, stage_id)
    values = payload.dict(exclude_unset=True)
    values.pop("position", None)  # order changes go through PATCH /pipelines/{id} stage_order
    return services.update_stage(actor, stage, **values)


@router.delete("/pipelines/{pipeline_id}/stages/{stage_id}", response={204: None}, summary="Delete a stage")
def delete_stage(request: HttpRequest, pipeline_id: int, stage_id: int, target: Query[MoveTarget]):
    """Refused (409) while it has deals, unless ``?move_to_stage_id=`` names another stage of the pipeline."""
    actor = actor_of(request)
    stage = _stage_of(actor, pipeline_id, stage_id)
    services.delete_stage(actor, stage, move_to=_stage(actor, target.move_to_stage_id, "move_to"))
    return Status(204, None)


# --- board -----------------------------------------------------------------------------------------


def _board_filters(filters: BoardFiltersIn) -> queries.BoardFilters:
    return queries.BoardFilters(
        owner_id=filters.owner_id,
        team_id=filters.team_id,
        close_from=filters.close_from,
        close_to=filters.close_to,
        q=filters.q,
    )


@router.get("/pipelines/{pipeline_id}/board", response=BoardOut, summary="The kanban board of a pipeline")
def pipeline_board(request: HttpRequest, pipeline_id: int, filters: Query[BoardFiltersIn]):
    """Columns with count, amount and weighted amount (base currency) and their first cards; closed
    columns hold deals closed in the last 90 days unless a close-date range is given. Custom-field
    filters: ``?custom.<key>=v``."""
    actor = actor_of(request)
    require(actor, "view", Opportunity.object_type)
    pipeline = _pipeline(actor, pipeline_id)
    board_filters = _board_filters(filters)
    def narrow(records):
        return apply_custom_filters(actor, records, request.GET)

    columns = [
        {
            "stage": column.stage,
            "count": column.count,
            "amount": column.amount,
            "weighted_amount": column.weighted,
            "cards": [card._asdict() for card in column.cards],
            "next_cursor": column.next_cursor,
        }
        for column in queries.pipeline_board(actor, pipeline, board_filters, narrow=narrow)
    ]
    return {
        "pipeline": _pipeline_out(pipeline),
        "currency": actor.workspace.base_currency,
        "columns": columns,
    }


@router.get(
    "/pipelines/{pipeline_id}/board/stages/{stage_id}", response=CardsOut, summary="More cards of one column"
)
def board_column(
    request: HttpRequest,
    pipeline_id: int,
    stage_id: int,
    filters: Query[BoardFiltersIn],
    cursor: str | None = None,
):
    actor = actor_of(request)
    require(actor, "view", Opportunity.object_type)
    stage = _stage_of(actor, pipeline_id, stage_id)
    board_filters = _board_filters(filters)
    records = apply_custom_filters(
        actor, queries.board_records(actor, stage.pipeline, board_filters), request.GET
    )
    items, next_cursor = queries.cards(
        records, stage, cursor=cursor, closed_since=board_filters.closed_since()
    )
    return {"items": [card._asdict() for card in items], "next_cursor": next_cursor}
