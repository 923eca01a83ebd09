"""REST endpoints: matching rules, the duplicate check, scans, the review queue, merges and undo."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.core.errors import NotFound
from kehu.workspaces.access import require, require_manager

from . import merge as merging
from . import rules, services
from .finder import find_duplicates
from .models import Candidate, MatchRule, MergeRecord, ScanJob
from .queries import merges_for, review_queue

router = Router(tags=["duplicates"])
ROUTE_TYPES = {"accounts": "customers.account", "contacts": "customers.contact", "leads": "leads.lead"}


class RuleField(Schema):
    field: str = Field(..., description="name | company | city | address | email | phone | custom.<key>")
    weight: float = 1
    min: float = Field(0, description="Fuzzy rules: below this similarity (0–1) the rule does not fire")
    required: bool = Field(False, description="Fuzzy rules: the rule does not fire when the field is empty")


class RuleOut(Schema):
    id: int
    object_type: str
    name: str
    kind: str
    fields: list[RuleField]
    threshold: int
    action: str
    is_active: bool
    position: int


class RuleIn(InputSchema):
    object_type: str = Field(..., description="customers.account | customers.contact | leads.lead")
    name: str = Field(..., max_length=100)
    kind: str = Field(..., description="exact | fuzzy")
    fields: list[RuleField]
    threshold: int = Field(85, description="Fuzzy rules: the weighted score (0–100) that makes a match")
    action: str = Field("warn", description="warn | block")
    is_active: bool = True
    position: int | None = None


class RulePatch(InputSchema):
    name: str | None = None
    fields: list[RuleField] | None = None
    threshold: int | None = None
    action: str | None = None
    is_active: bool | None = None
    position: int | None = None


@router.get("/duplicates/rules", response=list[RuleOut], summary="Matching rules of an object type")
def list_rules(request: HttpRequest, object_type: str):
    actor = actor_of(request)
    services._type(object_type)
    return rules.rules_of(actor.workspace, object_type, active_only=False)


@router.post("/duplicates/rules", response={201: RuleOut}, summary="Add a matching rule (admins)")
def create_rule(request: HttpRequest, payload: RuleIn):
    values = payload.dict()
    if values["position"] is None:
        values.pop("position")
    return Status(201, rules.create_rule(actor_of(request), **values))


def _rule(request, rule_id: int) -> MatchRule:
    actor = actor_of(request)
    require_manager(actor)
    rule = MatchRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    return rule


@router.patch("/duplicates/rules/{rule_id}", response=RuleOut, summary="Change a matching rule (admins)")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch):
    values = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return rules.update_rule(actor_of(request), _rule(request, rule_id), **values)


@router.delete("/duplicates/rules/{rule_id}", response={204: None}, summary="Delete a matching rule (admins)")
def delete_rule(request: HttpRequest, rule_id: int):
    rules.delete_rule(actor_of(request), _rule(request, rule_id))
    return Status(204, None)


class MatchOut(Schema):
    object_type: str
    id: int
    name: str = Field(..., description="Empty when the caller may not see the record")
    score: int
    matched_fields: list[str]
    rule: str
    action: str


class CheckIn(InputSchema):
    object_type: str
    fields: dict = Field(
        ..., description="name, name_en, company, city, street, email, phone, emails, phones, custom"
    )
    exclude: int | None = Field(None, description="The record being edited")


@router.post("/duplicates/check", response=list[MatchOut], summary="Likely duplicates of some values")
def check(request: HttpRequest, payload: CheckIn):
    """What a create or edit with these values would be warned about (or blocked by), best first."""
    actor = actor_of(request)
    require(actor, "view", services._type(payload.object_type))
    matches = find_duplicates(
        actor.workspace, payload.object_type, payload.fields, payload.exclude, actor=actor
    )
    return [m.as_dict() for m in matches]


class ScanIn(InputSchema):
    object_type: str


class ScanOut(Schema):
    id: int
    object_type: str
    status: str
    total: int
    done: int
    percent: int
    found: int
    stats: dict
    error: str
    started_at: datetime | None
    finished_at: datetime | None


@router.post("/duplicates/scans", response={202: ScanOut}, summary="Start a batch scan of an object type")
def start_scan(request: HttpRequest, payload: ScanIn):
    return Status(202, services.start_scan(actor_of(request), payload.object_type))


@router.get("/duplicates/scans/{scan_id}", response=ScanOut, summary="A scan's progress and statistics")
def get_scan(request: HttpRequest, scan_id: int):
    actor = actor_of(request)
    job = ScanJob.objects.filter(pk=scan_id).first()
    if job is None or not actor.can("change", job.object_type):
        raise NotFound()
    return job


class CandidateOut(Schema):
    id: int
    object_type: str
    record_a: int
    record_b: int
    score: int
    matched_fields: list[str]
    rule_name: str
    cluster: int
    status: str
    created_at: datetime


class QueueFilters(Schema):
    object_type: str = "customers.contact"
    min_score: int = 0
    status: str = "open"


@router.get("/duplicates/candidates", response=list[CandidateOut], summary="The review queue")
@keyset(orderings=("score", "created_at"), default="-score")
def list_candidates(request: HttpRequest, filters: Query[QueueFilters]):
    """Pairs whose two records the caller may see; ``?status=dismissed`` lists "not a duplicate"."""
    actor = actor_of(request)
    services._type(filters.object_type)
    return review_queue(actor, filters.object_type, min_score=filters.min_score, status=filters.status)


@router.post(
    "/duplicates/candidates/{candidate_id}/dismiss", response=CandidateOut, summary="Not a duplicate"
)
def dismiss(request: HttpRequest, candidate_id: int):
    actor = actor_of(request)
    return services.dismiss(actor, services.candidate_for(actor, candidate_id))


class MergeOut(Schema):
    id: int
    object_type: str
    survivor_id: int
    merged_ids: list[int]
    moved_count: int
    created_at: datetime
    undone_at: datetime | None


@router.post("/duplicates/candidates/{candidate_id}/merge", response=MergeOut, summary="Merge a pair")
def merge_candidate(request: HttpRequest, candidate_id: int):
    actor = actor_of(request)
    return services.merge_pair(actor, services.candidate_for(actor, candidate_id))


class ConfirmIn(InputSchema):
    object_type: str
    min_score: int = Field(..., ge=1, le=100)


class ConfirmOut(Schema):
    merged: int
    skipped: int
    merges: list[int]


@router.post("/duplicates/candidates/confirm", response=ConfirmOut, summary="Merge every pair above a score")
def bulk_confirm(request: HttpRequest, payload: ConfirmIn):
    """Up to 500 open pairs at or above ``min_score`` are merged (default survivor and values)."""
    return services.bulk_confirm(actor_of(request), payload.object_type, payload.min_score)


class MergeIn(InputSchema):
    survivor: int
    merged: list[int] = Field(..., min_length=1, max_length=merging.MAX_RECORDS - 1)
    values: dict[str, int] = Field(
        default_factory=dict,
        description="Per field (or custom.<key>), the id of the record whose value survives",
    )


def _merge_endpoint(route: str):
    object_type = ROUTE_TYPES[route]

    def handler(request: HttpRequest, payload: MergeIn):
        actor = actor_of(request)
        return merging.merge(actor, object_type, payload.survivor, payload.merged, payload.values)

    handler.__name__ = f"merge_{route}"
    handler.__doc__ = (
        f"Merge {route} into ``survivor``: every related record moves to it; reversible with "
        "``POST /merges/{id}/undo``. Needs change on every record and delete on the merged ones."
    )
    router.post(f"/{route}/merge", response=MergeOut, summary=f"Merge {route}")(handler)


for _route in ROUTE_TYPES:
    _merge_endpoint(_route)


class MergeDetailOut(MergeOut):
    survivor_before: dict
    survivor_after: dict
    losers: list[dict]


@router.get("/merges", response=list[MergeOut], summary="Merge history")
@keyset(orderings=("created_at",), default="-created_at")
def list_merges(request: HttpRequest, object_type: str | None = None):
    return merges_for(actor_of(request), object_type)


@router.get("/merges/{merge_id}", response=MergeDetailOut, summary="One merge")
def get_merge(request: HttpRequest, merge_id: int):
    return merging.merge_for(actor_of(request), merge_id)


@router.post("/merges/{merge_id}/undo", response=MergeOut, summary="Undo a merge")
def undo_merge(request: HttpRequest, merge_id: int):
    actor = actor_of(request)
    row: MergeRecord = merging.merge_for(actor, merge_id)
    return merging.undo(actor, row)


__all__ = ["Candidate", "router"]
