"""REST endpoints of lead scoring: a lead's score with reasons, rules CRUD, the model and retraining."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import NotFound
from kehu.leads.models import Lead
from kehu.workspaces.access import access_record, require

from . import services
from .models import ScoringRule

router = Router(tags=["scoring"])


class ReasonOut(Schema):
    text: str
    label: str = Field(..., description='The reason with its weight, e.g. "+20 Industry is Software"')
    points: float = Field(..., description="Rule points, or the factor's log-likelihood ratio")


class RuleReasonOut(Schema):
    rule_id: int | None
    kind: str
    points: float
    text: str
    label: str


class RulesScoreOut(Schema):
    score: int
    total: float = Field(..., description="The sum of the rules before clamping to 0–100")
    reasons: list[RuleReasonOut]


class FactorOut(Schema):
    feature: str
    value: str
    weight: float = Field(..., description="log P(value | won) − log P(value | lost)")
    ratio: float = Field(..., description="How many times likelier among won leads")
    text: str


class PredictiveOut(Schema):
    available: bool
    score: int | None
    version: int | None
    factors: list[FactorOut]
    message: str = Field(..., description="Why the predictive score is (not) used, with the numbers")


class LeadScoreOut(Schema):
    lead_id: int
    score: int = Field(..., description="The effective score 0–100, computed now")
    kind: str = Field(..., description="predictive | rules: which score is the effective one")
    reasons: list[ReasonOut]
    stored_score: int | None = Field(..., description="Lead.score as stored (lists sort by it)")
    scored_at: datetime | None
    rules: RulesScoreOut
    predictive: PredictiveOut


@router.get("/leads/{lead_id}/score", response=LeadScoreOut, summary="A lead's score and its reasons")
def lead_score(request: HttpRequest, lead_id: int):
    actor = actor_of(request)
    lead = access_record(actor, Lead.objects.all(), lead_id)
    return services.explain(actor, lead)


# --- rules -----------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    kind: str
    active: bool
    position: int
    points: int
    field: str
    operator: str
    value: Any = None
    event: str
    activity_kind: str
    direction: str
    outcome_keywords: str
    min_duration: int | None
    cap: int | None
    half_life_days: int | None
    description: str = Field("", description="The rule in words")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_description(rule: ScoringRule) -> str:
        return services.describe(rule)


class RuleIn(InputSchema):
    name: str = Field("", max_length=100)
    kind: str = Field("fit", description="fit | engagement")
    active: bool = True
    position: int = Field(0, ge=0)
    points: int = Field(10, ge=-100, le=100)
    field: str = Field("", max_length=60, description='Fit: a lead field, or "custom.<key>"')
    operator: str = Field(
        "",
        description="Fit: eq | ne | in | not_in | contains | not_contains | startswith | gt | gte | lt | "
        "lte | is_set | is_empty",
    )
    value: Any = Field(None, description="Fit: the value (a list for in / not_in)")
    event: str = Field(
        "",
        description="Engagement: email_opened | email_clicked | email_replied | form_submitted | "
        "meeting_held | visit_held | call_connected | inbound_message | custom",
    )
    activity_kind: str = Field(
        "", description="Engagement (custom): call | email | meeting | visit | note | message"
    )
    direction: str = Field("", description="Engagement (custom): inbound | outbound | internal")
    outcome_keywords: str = Field(
        "", max_length=200, description="Engagement (custom): words, separated by |"
    )
    min_duration: int | None = Field(None, ge=0, description="Engagement (custom): seconds")
    cap: int | None = Field(None, ge=1, le=1000, description="Engagement: at most this many points")
    half_life_days: int | None = Field(
        None, ge=1, le=3650, description="Engagement: points halve every N days"
    )


RulePatch = patch_schema(RuleIn, "ScoringRulePatch")


def _rule(request: HttpRequest, rule_id: int, action: str = "view") -> ScoringRule:
    require(actor_of(request), action, ScoringRule.object_type)
    try:
        return ScoringRule.objects.get(pk=rule_id)
    except ScoringRule.DoesNotExist:
        raise NotFound() from None


@router.get("/scoring/rules", response=list[RuleOut], summary="Lead scoring rules")
@keyset(orderings=("position", "created_at"), default="position")
def list_rules(request: HttpRequest, kind: str | None = None):
    require(actor_of(request), "view", ScoringRule.object_type)
    rules = ScoringRule.objects.all()
    return rules.filter(kind=kind) if kind else rules


@router.post("/scoring/rules", response={201: RuleOut}, summary="Create a scoring rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    return Status(201, services.create_rule(actor_of(request), **payload.dict()))


class RuleTestIn(InputSchema):
    lead_id: int
    rule: RuleIn | None = Field(None, description="An unsaved rule to try; without it, the active rules")


@router.post("/scoring/rules/test", response=RulesScoreOut, summary="Try the rules (or one draft) on a lead")
def test_rules(request: HttpRequest, payload: RuleTestIn):
    actor = actor_of(request)
    require(actor, "view", ScoringRule.object_type)
    lead = access_record(actor, Lead.objects.all(), payload.lead_id)
    draft = payload.rule.dict() if payload.rule is not None else None
    return services.try_rules(actor, lead, draft)


@router.get("/scoring/rules/{rule_id}", response=RuleOut, summary="One scoring rule")
def get_rule(request: HttpRequest, rule_id: int):
    return _rule(request, rule_id)


@router.patch("/scoring/rules/{rule_id}", response=RuleOut, summary="Change a scoring rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch):
    rule = _rule(request, rule_id, "change")
    return services.update_rule(actor_of(request), rule, **payload.dict(exclude_unset=True))


@router.delete("/scoring/rules/{rule_id}", response={204: None}, summary="Delete a scoring rule")
def delete_rule(request: HttpRequest, rule_id: int):
    services.delete_rule(actor_of(request), _rule(request, rule_id, "delete"))
    return Status(204, None)


# --- the predictive model --------------------------------------------------------------------------


class ModelVersionOut(Schema):
    version: int
    status: str
    started_at: datetime
    trained_at: datetime | None
    duration_ms: int | None
    won_count: int
    lost_count: int
    train_size: int
    holdout_size: int
    auc: float | None
    rescored: int
    message: str


class ModelOut(Schema):
    kind: str = Field(..., description="predictive | rules: which score leads get now")
    message: str
    needs: dict[str, int] = Field(..., description="Won and lost leads the predictive score needs")
    have: dict[str, int] = Field(..., description="Won and lost leads in the history now")
    ready: ModelVersionOut | None = Field(..., description="The model in use")
    features: list[str]
    top_factors: list[FactorOut] = Field(..., description="The strongest values of the model in use")
    history: list[ModelVersionOut] = Field(..., description="The latest training runs, newest first")
    retrain_requested_at: datetime | None


@router.get("/scoring/model", response=ModelOut, summary="The predictive model: status, sizes, AUC")
def get_model(request: HttpRequest):
    actor = actor_of(request)
    require(actor, "view", ScoringRule.object_type)
    return services.model_report(actor)


class RetrainOut(Schema):
    queued: bool
    task_id: str


@router.post("/scoring/retrain", response={202: RetrainOut}, summary="Retrain the predictive model now")
def retrain(request: HttpRequest):
    """Enqueues the background job; ``GET /scoring/model`` shows the result when it has run."""
    result = services.request_retrain(actor_of(request))
    return Status(202, {"queued": True, "task_id": str(result.id)})
