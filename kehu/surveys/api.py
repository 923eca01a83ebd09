"""REST endpoints: survey campaigns, answers, and the service dashboard's figures."""

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.forecast.periods import parse_range
from kehu.workspaces.access import access_record, require, visible

from . import dashboard, services
from .models import Survey
from .queries import visible_responses

router = Router(tags=["service"])


class SurveyOut(Schema):
    id: int
    name: str
    kind: str = Field(..., description="nps | csat")
    question_zh: str
    question_en: str
    status: str = Field(..., description="draft | sending | sent")
    audience_view_id: int | None
    audience_grades: list[str]
    audience_stages: list[str]
    valid_days: int
    sent_at: datetime | None
    sent_count: int
    skipped_count: int
    owner_id: int | None
    created_at: datetime


class SurveyResultOut(SurveyOut):
    responses: int
    nps: float | None = Field(None, description="%promoters − %detractors (NPS surveys)")
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    average: float | None = Field(None, description="Average score")


class SurveyIn(InputSchema):
    name: str
    kind: str = "nps"
    question_zh: str = ""
    question_en: str = ""
    audience_view_id: int | None = Field(None, description="A saved view of contacts")
    audience_grades: list[str] = Field(default_factory=list, description="Account grade keys")
    audience_stages: list[str] = Field(default_factory=list, description="Account lifecycle stages")
    valid_days: int = 30


SurveyPatch = patch_schema(SurveyIn, "SurveyPatch")


class ResponseOut(Schema):
    id: int
    kind: str
    survey_id: int | None
    ticket_id: int | None
    contact_id: int | None
    account_id: int | None
    score: int
    comment: str
    sentiment: str = Field(..., description="positive | neutral | negative | '' (no comment)")
    sentiment_score: float | None
    answered_at: datetime


class ResponseFilters(Schema):
    kind: str | None = None
    survey_id: int | None = None
    ticket_id: int | None = None
    contact_id: int | None = None
    account_id: int | None = None
    sentiment: str | None = None


class RangeQuery(Schema):
    start: date | None = Field(None, alias="from")
    end: date | None = Field(None, alias="to")


def _result(survey: Survey) -> dict:
    nps, average = services.survey_results(survey)
    out = {f: getattr(survey, f) for f in SurveyOut.model_fields}
    out["responses"] = nps.responses
    out["average"] = average
    if survey.kind == "nps":
        out.update(nps.as_dict())
    return out


@router.get("/surveys", response=list[SurveyOut], summary="Survey campaigns")
@keyset(orderings=("created_at",), default="-created_at")
def list_surveys(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", Survey.object_type)
    return visible(actor, Survey.objects.all())


@router.post("/surveys", response={201: SurveyResultOut}, summary="Create a draft survey campaign")
def create_survey(request: HttpRequest, payload: SurveyIn):
    return Status(201, _result(services.create_survey(actor_of(request), **payload.dict())))


@router.get("/surveys/responses", response=list[ResponseOut], summary="Survey answers the caller may see")
@keyset(orderings=("answered_at",), default="-answered_at")
def list_responses(request: HttpRequest, filters: Query[ResponseFilters]):
    qs = visible_responses(actor_of(request))
    for name, value in filters.dict(exclude_none=True).items():
        qs = qs.filter(**{name: value})
    return qs


@router.get("/surveys/{survey_id}", response=SurveyResultOut, summary="A survey with its results")
def get_survey(request: HttpRequest, survey_id: int):
    return _result(access_record(actor_of(request), Survey.objects.all(), survey_id))


@router.patch("/surveys/{survey_id}", response=SurveyResultOut, summary="Change a draft survey")
def update_survey(request: HttpRequest, survey_id: int, payload: SurveyPatch):
    actor = actor_of(request)
    survey = access_record(actor, Survey.objects.all(), survey_id, "change")
    return _result(services.update_survey(actor, survey, **payload.dict(exclude_unset=True)))


@router.post("/surveys/{survey_id}/send", response={202: SurveyResultOut}, summary="Send a draft survey")
def send_survey(request: HttpRequest, survey_id: int):
    """Sends in batches in the background; ``status`` becomes "sent" when every batch went out."""
    actor = actor_of(request)
    survey = access_record(actor, Survey.objects.all(), survey_id, "change")
    return Status(202, _result(services.launch(actor, survey)))


@router.get("/service/dashboard", summary="The service dashboard's figures")
def service_dashboard(request: HttpRequest, when: Query[RangeQuery]):
    """Open tickets, times (median/p90 hours) against SLA, backlog age, workload, CSAT/NPS trend,
    complaint causes and bot deflection, for tickets created ``from``–``to`` (default: last 30 days)."""
    actor = actor_of(request)
    if when.start is None and when.end is None:
        period = dashboard.default_period(actor.workspace)
    else:
        period = parse_range(when.start, when.end, None, actor.workspace)
    s = dashboard.Scope(actor, period)
    return {"from": period.start, "to": period.end, **dashboard.everything(s)}
