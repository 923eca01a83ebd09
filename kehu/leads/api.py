"""REST endpoints for leads, their conversion, web forms and assignment rules (thin: schema → services)."""

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import NotFound
from kehu.customfields.api import custom_field, custom_resolver
from kehu.customfields.queries import apply_params as apply_custom_filters
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record, require_manager

from . import services
from .models import AssignmentRule, Lead, WebForm
from .queries import leads_for, open_duplicates

router = Router(tags=["leads"])


class LeadOut(Schema):
    id: int
    name: str
    name_en: str
    title: str
    company: str
    email: str
    phone: str = Field(..., description="E.164")
    website: str
    country: str
    province: str
    city: str
    industry: str
    size: str
    source: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    status: str
    disqualified_reason: str
    description: str
    score: int | None = Field(..., description="0–100, set by lead scoring; null until scored")
    score_updated_at: datetime | None
    owner_id: int | None
    team_id: int | None
    web_form_id: int | None
    assigned_by_rule_id: int | None
    assigned_at: datetime | None
    converted_at: datetime | None
    converted_account_id: int | None
    converted_contact_id: int | None
    converted_opportunity_id: int | None
    created_at: datetime
    updated_at: datetime
    custom: dict = custom_field()

    resolve_custom = custom_resolver("leads.lead")


class DuplicateOut(Schema):
    lead_id: int | None
    contact_id: int | None
    reason: str = Field(..., description="email | phone | name_company")
    similarity: int


class LeadDetailOut(LeadOut):
    possible_duplicates: list[DuplicateOut]


class LeadIn(InputSchema):
    name: str = Field(..., max_length=200)
    name_en: str = Field("", max_length=200)
    title: str = Field("", max_length=100)
    company: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40, description="Any format; stored as E.164")
    website: str = Field("", max_length=200)
    country: str = Field("", max_length=2, description="ISO 3166 code")
    province: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    industry: str = Field("", max_length=100)
    size: str = Field("", description="1-9 | 10-49 | 50-249 | 250-999 | 1000+")
    source: str = Field(
        "api", description="web_form | import | api | event | referral | ad_campaign | manual | other"
    )
    utm_source: str = Field("", max_length=100)
    utm_medium: str = Field("", max_length=100)
    utm_campaign: str = Field("", max_length=100)
    status: str = Field("new", description="new | contacted | qualified | disqualified")
    disqualified_reason: str = Field("", max_length=200)
    description: str = Field("", max_length=10000)
    owner_id: int | None = Field(
        None, description="When absent the assignment rules choose (else the caller)"
    )
    team_id: int | None = None
    custom: dict | None = custom_field(input=True)


LeadPatch = patch_schema(LeadIn, "LeadPatch")


class LeadFilters(Schema):
    q: str = Field("", description="Name, Latin name or company contains; email equals; pinyin starts with")
    status: str | None = None
    source: str | None = None
    owner_id: int | None = None
    city: str | None = None
    converted: bool | None = Field(None, description="true: converted leads only; false: not converted")


def _detail(actor, lead: Lead) -> dict:
    return {
        **LeadOut.from_orm(lead).dict(),
        "possible_duplicates": [
            {
                "lead_id": d.other_lead_id,
                "contact_id": d.other_contact_id,
                "reason": d.reason,
                "similarity": d.similarity,
            }
            for d in open_duplicates(actor, lead)
        ],
    }


def _lead(request: HttpRequest, lead_id: int, action: str = "view") -> Lead:
    return access_record(actor_of(request), Lead.objects.all(), lead_id, action)


@router.get("/leads", response=list[LeadOut], summary="Leads the caller may see")
@keyset(orderings=("created_at", "name", "updated_at", "score"), default="-created_at")
def list_leads(request: HttpRequest, filters: Query[LeadFilters]):
    """Also filters on custom fields (``?custom.<key>=v``) and by ``?filters=<JSON spec>`` (docs/lists.md)."""
    actor = actor_of(request)
    values = {k: v for k, v in filters.dict().items() if k not in ("q", "converted") and v is not None}
    records = leads_for(actor, filters.q).filter(**values)
    if filters.converted is not None:
        records = records.filter(converted_at__isnull=not filters.converted)
    return apply_api_filters(actor, apply_custom_filters(actor, records, request.GET), request)


@router.post("/leads", response={201: LeadDetailOut}, summary="Create a lead")
def create_lead(request: HttpRequest, payload: LeadIn):
    """Runs the duplicate check (``possible_duplicates``) and, without ``owner_id``, the assignment rules."""
    actor = actor_of(request)
    return Status(201, _detail(actor, services.create_lead(actor, **payload.dict())))


class BulkOut(Schema):
    count: int
    ids: list[int] = Field(..., description="The new leads' ids, in the order of the items sent")


class LeadBulkIn(InputSchema):
    items: list[LeadIn] = Field(..., min_length=1, max_length=services.MAX_BULK)


@router.post("/leads/bulk", response={201: BulkOut}, summary="Create up to 1,000 leads at once")
def bulk_create_leads(request: HttpRequest, payload: LeadBulkIn):
    """All or nothing: when any item is invalid nothing is saved and every error is listed as
    ``items.<i>.<field>``."""
    leads = services.bulk_create_leads(actor_of(request), [item.dict() for item in payload.items])
    return Status(201, {"count": len(leads), "ids": [lead.pk for lead in leads]})


@router.get("/leads/{lead_id}", response=LeadDetailOut, summary="One lead")
def get_lead(request: HttpRequest, lead_id: int):
    return _detail(actor_of(request), _lead(request, lead_id))


@router.patch("/leads/{lead_id}", response=LeadDetailOut, summary="Change a lead")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch):
    actor = actor_of(request)
    lead = services.update_lead(actor, _lead(request, lead_id, "change"), **payload.dict(exclude_unset=True))
    return _detail(actor, lead)


@router.delete("/leads/{lead_id}", response={204: None}, summary="Delete a lead")
def delete_lead(request: HttpRequest, lead_id: int):
    services.delete_lead(actor_of(request), _lead(request, lead_id, "delete"))
    return Status(204, None)


class AssignmentOut(Schema):
    rule_id: int | None = Field(..., description="The rule that assigned the lead; null when none matched")
    owner_id: int | None


@router.post("/leads/{lead_id}/assign", response=AssignmentOut, summary="Re-run the assignment rules")
def reassign_lead(request: HttpRequest, lead_id: int):
    lead = _lead(request, lead_id, "change")
    rule = services.rerun_assignment(actor_of(request), lead)
    return {"rule_id": rule.pk if rule else None, "owner_id": lead.owner_id}


class MergeIn(InputSchema):
    into_id: int = Field(..., description="The existing lead that stays")


@router.post("/leads/{lead_id}/merge", response=LeadDetailOut, summary="Merge a lead into an existing lead")
def merge_lead(request: HttpRequest, lead_id: int, payload: MergeIn):
    actor = actor_of(request)
    lead = _lead(request, lead_id, "delete")
    into = _lead(request, payload.into_id, "change")
    return _detail(actor, services.merge_lead(actor, lead, into))


@router.post("/leads/{lead_id}/keep", response=LeadDetailOut, summary="Keep a lead flagged as a duplicate")
def keep_lead(request: HttpRequest, lead_id: int):
    actor = actor_of(request)
    lead = _lead(request, lead_id, "change")
    services.keep_both(actor, lead)
    return _detail(actor, lead)


class OpportunityIn(InputSchema):
    pipeline_id: int | None = Field(None, description="Defaults to the workspace's default pipeline")
    name: str | None = Field(None, max_length=200, description="Defaults to the company (or the lead's name)")
    amount: Decimal | None = None
    currency: str | None = Field(None, max_length=3)
    expected_close_date: date | None = None


class ConvertIn(InputSchema):
    account_id: int | None = Field(None, description="An existing account; a new one when absent")
    contact_id: int | None = Field(None, description="An existing contact; a new one when absent")
    opportunity: OpportunityIn | None = Field(None, description="Also create an opportunity")


class ConvertOut(Schema):
    lead_id: int
    account_id: int
    contact_id: int
    opportunity_id: int | None
    already_converted: bool = Field(..., description="True when this call found an earlier conversion")
    dropped_custom_fields: list[str] = Field(..., description="Custom values not valid on the new records")


@router.post("/leads/{lead_id}/convert", response=ConvertOut, summary="Convert a qualified lead")
def convert_lead(request: HttpRequest, lead_id: int, payload: ConvertIn | None = None):
    """Creates (or uses) an account and a contact, optionally an opportunity; idempotent: a second call
    answers with the records of the first."""
    actor = actor_of(request)
    lead = _lead(request, lead_id, "change")
    payload = payload or ConvertIn()
    opportunity = None
    if payload.opportunity is not None:
        opportunity = {k: v for k, v in payload.opportunity.dict().items() if v is not None}
    result = services.convert_lead(
        actor, lead, account_id=payload.account_id, contact_id=payload.contact_id, opportunity=opportunity
    )
    return {
        "lead_id": lead.pk,
        "account_id": result.account.pk,
        "contact_id": result.contact.pk,
        "opportunity_id": result.opportunity.pk if result.opportunity is not None else None,
        "already_converted": result.already,
        "dropped_custom_fields": result.dropped_custom,
    }


# --- administration: web forms and assignment rules -----------------------------------------------


class WebFormOut(Schema):
    id: int
    name: str
    token: str
    url: str
    fields: list[str]
    required_fields: list[str]
    submit_label: str
    thank_you_text: str
    redirect_url: str
    default_source: str
    default_owner_id: int | None
    run_assignment: bool
    allowed_origins: str
    is_active: bool
    submission_count: int

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/f/{obj.token}"


class WebFormIn(InputSchema):
    name: str = Field(..., max_length=100)
    fields: list[str] = Field(default_factory=lambda: ["name", "company", "email", "phone", "description"])
    required_fields: list[str] = Field(default_factory=lambda: ["name"])
    submit_label: str = Field("", max_length=60)
    thank_you_text: str = Field("", max_length=2000)
    redirect_url: str = Field("", max_length=200)
    default_source: str = "web_form"
    default_owner_id: int | None = None
    run_assignment: bool = True
    allowed_origins: str = Field("", max_length=2000)
    is_active: bool = True


WebFormPatch = patch_schema(WebFormIn, "WebFormPatch")


@router.get("/lead-forms", response=list[WebFormOut], summary="Web-to-lead forms (administrators)")
def list_forms(request: HttpRequest):
    require_manager(actor_of(request))
    return list(WebForm.objects.order_by("name", "id")[:500])


@router.post("/lead-forms", response={201: WebFormOut}, summary="Create a web-to-lead form")
def create_form(request: HttpRequest, payload: WebFormIn):
    return Status(201, services.create_form(actor_of(request), **payload.dict()))


def _form(request: HttpRequest, form_id: int) -> WebForm:
    require_manager(actor_of(request))
    form = WebForm.objects.filter(pk=form_id).first()
    if form is None:
        raise NotFound()
    return form


@router.patch("/lead-forms/{form_id}", response=WebFormOut, summary="Change a web-to-lead form")
def update_form(request: HttpRequest, form_id: int, payload: WebFormPatch):
    form = _form(request, form_id)
    return services.update_form(actor_of(request), form, **payload.dict(exclude_unset=True))


@router.delete("/lead-forms/{form_id}", response={204: None}, summary="Delete a web-to-lead form")
def delete_form(request: HttpRequest, form_id: int):
    services.delete_form(actor_of(request), _form(request, form_id))
    return Status(204, None)


class ConditionIO(Schema):
    field: str = Field(..., description="country | province | city | industry | source | size | custom.<key>")
    op: str = Field("eq", description="eq | in")
    value: str | list[str]


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    conditions: list[ConditionIO]
    user_id: int | None
    team_id: int | None
    weights: dict[str, int]
    daily_cap: int | None
    sla_hours: int


class RuleIn(InputSchema):
    name: str = Field(..., max_length=100)
    position: int | None = Field(None, description="Rules run by position, lowest first")
    is_active: bool = True
    conditions: list[dict] = Field(default_factory=list, description="All must hold; see ConditionIO")
    user_id: int | None = Field(None, description="Assign to this user …")
    team_id: int | None = Field(None, description="… or round-robin among this team's members")
    weights: dict[str, int] = Field(default_factory=dict, description='{"<user id>": weight}; default 1')
    daily_cap: int | None = Field(None, description="Most leads per member per day; null for no cap")
    sla_hours: int = Field(24, description="The first-contact task is due this many hours after assignment")


RulePatch = patch_schema(RuleIn, "RulePatch")


@router.get("/lead-assignment-rules", response=list[RuleOut], summary="Assignment rules, in order")
def list_rules(request: HttpRequest):
    require_manager(actor_of(request))
    return list(AssignmentRule.objects.order_by("position", "id")[:500])


@router.post("/lead-assignment-rules", response={201: RuleOut}, summary="Create an assignment rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    values = payload.dict()
    if values["position"] is None:
        values.pop("position")
    return Status(201, services.create_rule(actor_of(request), **values))


def _rule(request: HttpRequest, rule_id: int) -> AssignmentRule:
    require_manager(actor_of(request))
    rule = AssignmentRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    return rule


@router.patch("/lead-assignment-rules/{rule_id}", response=RuleOut, summary="Change an assignment rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch):
    return services.update_rule(
        actor_of(request), _rule(request, rule_id), **payload.dict(exclude_unset=True)
    )


@router.delete("/lead-assignment-rules/{rule_id}", response={204: None}, summary="Delete an assignment rule")
def delete_rule(request: HttpRequest, rule_id: int):
    services.delete_rule(actor_of(request), _rule(request, rule_id))
    return Status(204, None)
