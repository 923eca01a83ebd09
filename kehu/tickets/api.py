"""REST endpoints for tickets, their conversation, status and assignment, and the complaint report
(thin: schema → services)."""

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.customfields.api import custom_field, custom_resolver
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record, require, require_manager

from . import services
from .listing import _sla_condition
from .models import RoutingRule, Ticket, TicketCategory, TicketEntry
from .queries import complaint_report, tickets_for

router = Router(tags=["tickets"])


class TicketOut(Schema):
    id: int
    number: int
    reference: str = Field(..., description='"[#1234]", the reference in mail subjects')
    subject: str
    description: str
    account_id: int | None
    contact_id: int | None
    requester_email: str
    requester_name: str
    channel: str = Field(..., description="email | web | phone | chat | wechat | api | bot")
    type: str = Field(..., description="inquiry | complaint | request | incident")
    category: str
    priority: str = Field(..., description="low | normal | high | urgent")
    status: str = Field(..., description="new | open | pending | on_hold | resolved | closed | reopened")
    language: str
    owner_id: int | None = Field(..., description="The assignee")
    team_id: int | None = Field(..., description="The queue")
    order_id: int | None
    product_id: int | None
    opportunity_id: int | None
    satisfaction: int | None
    severity: str
    root_cause: str
    compensation_amount: Decimal | None
    compensation: str
    outcome: str
    sla: str = Field(..., description='met | ok | warning | breached | paused | "" (no SLA)')
    sla_policy_id: int | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    first_response_business_minutes: int | None = Field(
        ..., description="Opening → first public reply in business minutes (SLA calendar, pauses left out)"
    )
    resolution_business_minutes: int | None = Field(
        ..., description="Opening → resolution in business minutes (SLA calendar, pauses left out)"
    )
    closed_at: datetime | None
    sla_paused_at: datetime | None
    sla_paused_minutes: int
    sla_breached_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    custom: dict = custom_field()

    resolve_custom = custom_resolver("tickets.ticket")

    @staticmethod
    def resolve_sla(ticket) -> str:
        return ticket.sla_state()


class TicketDetailOut(TicketOut):
    tags: list[str]


class TicketIn(InputSchema):
    subject: str = Field(..., max_length=300)
    description: str = Field("", max_length=100_000)
    channel: str = Field("api", description="email | web | phone | chat | wechat | api | bot")
    type: str = Field("inquiry", description="inquiry | complaint | request | incident")
    category: str = Field("", max_length=100, description="One of the workspace's ticket categories")
    priority: str = Field("normal", description="low | normal | high | urgent")
    language: str = Field("", max_length=10)
    account_id: int | None = None
    contact_id: int | None = None
    sender_email: str = Field(
        "", max_length=254, description="Matched to a contact when contact_id is absent; replies go here"
    )
    sender_name: str = Field("", max_length=200)
    owner_id: int | None = Field(None, description="Without owner_id and team_id the routing rules choose")
    team_id: int | None = None
    order_id: int | None = None
    product_id: int | None = None
    opportunity_id: int | None = None
    tags: list[str] | None = None
    severity: str = ""
    root_cause: str = ""
    compensation_amount: Decimal | None = None
    compensation: str = Field("", max_length=300)
    outcome: str = ""
    custom: dict | None = custom_field(input=True)


class TicketUpdate(InputSchema):
    subject: str = Field(..., max_length=300)
    description: str = Field("", max_length=100_000)
    type: str = "inquiry"
    category: str = Field("", max_length=100)
    priority: str = "normal"
    language: str = Field("", max_length=10)
    account_id: int | None = None
    contact_id: int | None = None
    requester_email: str = Field("", max_length=254)
    requester_name: str = Field("", max_length=200)
    order_id: int | None = None
    product_id: int | None = None
    opportunity_id: int | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    tags: list[str] | None = None
    severity: str = ""
    root_cause: str = ""
    compensation_amount: Decimal | None = None
    compensation: str = Field("", max_length=300)
    outcome: str = ""
    custom: dict | None = custom_field(input=True)


TicketPatch = patch_schema(TicketUpdate, "TicketPatch")


class TicketFilters(Schema):
    q: str = Field(
        "", description='"#123" / a number: the ticket number; an email: the requester; else subject'
    )
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    channel: str | None = None
    category: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None
    sla: str | None = Field(None, description="breached | paused | running | none")
    unassigned: bool | None = None


def _detail(ticket: Ticket) -> Ticket:
    ticket.tags = services.ticket_tags(ticket)
    return ticket


def _ticket(request: HttpRequest, ticket_id: int, action: str = "view") -> Ticket:
    return access_record(actor_of(request), Ticket.objects.all(), ticket_id, action)


@router.get("/tickets", response=list[TicketOut], summary="Tickets the caller may see")
@keyset(orderings=("created_at", "number", "updated_at"), default="-created_at")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]):
    """Also ``?filters=<JSON spec>`` (docs/lists.md; fields as on the ticket list)."""
    actor = actor_of(request)
    require(actor, "view", Ticket.object_type)
    values = {
        k: v for k, v in filters.dict().items() if k not in ("q", "sla", "unassigned") and v is not None
    }
    records = tickets_for(actor, filters.q).select_related(None).filter(**values)
    if filters.sla:
        if filters.sla not in ("breached", "paused", "running", "none"):
            raise ValidationFailed(
                [FieldError("sla", "breached | paused | running | none", "invalid_choice")]
            )
        records = records.filter(_sla_condition(actor, "eq", filters.sla))
    if filters.unassigned is not None:
        records = records.filter(owner__isnull=filters.unassigned)
    return apply_api_filters(actor, records, request)


@router.post("/tickets", response={201: TicketDetailOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketIn):
    """Routes the ticket (without owner_id/team_id), chooses the SLA policy, matches ``sender_email`` to
    a contact, and records the description as the customer's first message."""
    actor = actor_of(request)
    ticket = services.open_ticket(actor, **payload.dict())
    return Status(201, _detail(ticket))


@router.get(
    "/tickets/complaints/report",
    summary="Complaint report: counts and compensation by cause, product, outcome and severity",
)
def get_complaint_report(request: HttpRequest, since: datetime | None = None, until: datetime | None = None):
    actor = actor_of(request)
    require(actor, "view", Ticket.object_type)
    report = complaint_report(actor, since=since, until=until)

    def money(value) -> str:
        return f"{Decimal(value or 0):.2f}"

    def plain(rows):
        return [{**r, "label": str(r["label"]), "compensation": money(r["compensation"])} for r in rows]

    return {
        "total": report["total"],
        "compensation": money(report["compensation"]),
        **{key: plain(report[key]) for key in ("by_root_cause", "by_product", "by_outcome", "by_severity")},
    }


# --- ticket categories and routing rules -------------------------------------------------------------
# Declared before the "/tickets/{ticket_id}" routes so these paths are never read as a ticket id.


class CategoryOut(Schema):
    id: int
    name: str
    position: int = Field(..., description="Display order, lowest first")
    is_active: bool = Field(..., description="Inactive categories are not offered for new tickets")
    created_at: datetime
    updated_at: datetime


class CategoryIn(InputSchema):
    name: str = Field(..., max_length=100)
    position: int | None = Field(None, ge=0, description="Default: after the last category")
    is_active: bool = True


CategoryPatch = patch_schema(CategoryIn, "TicketCategoryPatch")


class RuleOut(Schema):
    id: int
    name: str
    position: int = Field(..., description="Matching order: the first active rule that matches wins")
    is_active: bool
    conditions: dict = Field(
        ...,
        description='{"channel": [...], "category": [...], "grade": [...], "language": [...], '
        '"keywords": [...]}; missing = any',
    )
    team_id: int | None = Field(..., description="The queue the ticket goes to")
    assignment: str = Field(..., description="none | user | round_robin | least_loaded")
    user_id: int | None = Field(..., description='The agent (assignment "user")')
    last_assigned_id: int | None = Field(..., description="Round-robin: who got the rule's last ticket")
    created_at: datetime
    updated_at: datetime


class RuleIn(InputSchema):
    name: str = Field(..., max_length=100)
    position: int | None = Field(None, ge=0, description="Default: after the last rule")
    is_active: bool = True
    conditions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="channel, category, grade, language, keywords: lists; empty or missing = any",
    )
    team_id: int | None = Field(None, description="Queue; required by round_robin and least_loaded")
    assignment: str = Field("none", description="none | user | round_robin | least_loaded")
    user_id: int | None = Field(None, description='Required by assignment "user"')


RulePatch = patch_schema(RuleIn, "RoutingRulePatch")


class RuleOrderIn(InputSchema):
    ids: list[int] = Field(..., description="Rule ids in matching order; the ones left out follow")


def _category(category_id: int) -> TicketCategory:
    found = TicketCategory.objects.filter(pk=category_id).first()
    if found is None:
        raise NotFound()
    return found


def _rule(request: HttpRequest, rule_id: int) -> RoutingRule:
    require_manager(actor_of(request))
    found = RoutingRule.objects.filter(pk=rule_id).first()
    if found is None:
        raise NotFound()
    return found


@router.get("/tickets/categories", response=list[CategoryOut], summary="Ticket categories, in order")
def list_categories(request: HttpRequest, active: bool | None = None):
    """Everyone who may see tickets (a new ticket's ``category`` must be one of these)."""
    require(actor_of(request), "view", Ticket.object_type)
    categories = TicketCategory.objects.order_by("position", "name")
    if active is not None:
        categories = categories.filter(is_active=active)
    return list(categories[:500])


@router.post("/tickets/categories", response={201: CategoryOut}, summary="Add a category (administrators)")
def create_category(request: HttpRequest, payload: CategoryIn):
    return Status(201, services.create_category(actor_of(request), **payload.dict()))


@router.get("/tickets/categories/{category_id}", response=CategoryOut, summary="One ticket category")
def get_category(request: HttpRequest, category_id: int):
    require(actor_of(request), "view", Ticket.object_type)
    return _category(category_id)


@router.patch(
    "/tickets/categories/{category_id}",
    response=CategoryOut,
    summary="Rename, move or (de)activate a category (administrators)",
)
def update_category(request: HttpRequest, category_id: int, payload: CategoryPatch):  # type: ignore[valid-type]
    actor = actor_of(request)
    require_manager(actor)
    return services.update_category(actor, _category(category_id), **payload.dict(exclude_unset=True))


@router.delete(
    "/tickets/categories/{category_id}",
    response={204: None},
    summary="Delete a category (administrators; tickets keep the name)",
)
def delete_category(request: HttpRequest, category_id: int):
    actor = actor_of(request)
    require_manager(actor)
    services.delete_category(actor, _category(category_id))
    return Status(204, None)


@router.get(
    "/tickets/routing-rules",
    response=list[RuleOut],
    summary="Routing rules in matching order (administrators)",
)
def list_rules(request: HttpRequest):
    require_manager(actor_of(request))
    return list(RoutingRule.objects.order_by("position", "id")[:500])


@router.post("/tickets/routing-rules", response={201: RuleOut}, summary="Add a routing rule (administrators)")
def create_rule(request: HttpRequest, payload: RuleIn):
    return Status(201, services.create_rule(actor_of(request), **payload.dict()))


@router.post(
    "/tickets/routing-rules/order",
    response=list[RuleOut],
    summary="Set the rules' matching order (administrators)",
)
def order_rules(request: HttpRequest, payload: RuleOrderIn):
    """The given ids first, in order; the others follow as they were. Positions become 0, 1, 2 …"""
    return services.reorder_rules(actor_of(request), payload.ids)


@router.get("/tickets/routing-rules/{rule_id}", response=RuleOut, summary="One routing rule (administrators)")
def get_rule(request: HttpRequest, rule_id: int):
    return _rule(request, rule_id)


@router.patch(
    "/tickets/routing-rules/{rule_id}", response=RuleOut, summary="Change a routing rule (administrators)"
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch):  # type: ignore[valid-type]
    rule = _rule(request, rule_id)
    return services.update_rule(actor_of(request), rule, **payload.dict(exclude_unset=True))


@router.delete(
    "/tickets/routing-rules/{rule_id}",
    response={204: None},
    summary="Delete a routing rule (administrators)",
)
def delete_rule(request: HttpRequest, rule_id: int):
    services.delete_rule(actor_of(request), _rule(request, rule_id))
    return Status(204, None)


@router.get("/tickets/{ticket_id}", response=TicketDetailOut, summary="One ticket")
def get_ticket(request: HttpRequest, ticket_id: int):
    return _detail(_ticket(request, ticket_id))


@router.patch("/tickets/{ticket_id}", response=TicketDetailOut, summary="Change a ticket")
def update_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch):
    """Not the status (``POST …/status``) nor the assignee (``POST …/assign``). A new priority, type,
    category or account re-chooses the SLA policy."""
    ticket = services.update_ticket(
        actor_of(request), _ticket(request, ticket_id, "change"), **payload.dict(exclude_unset=True)
    )
    return _detail(ticket)


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str

    @staticmethod
    def resolve_url(attachment) -> str:
        from django.urls import reverse

        return reverse("tickets:attachment", args=[attachment.pk])


class EntryOut(Schema):
    id: int
    kind: str = Field(..., description="customer | reply | note (internal)")
    author_id: int | None
    sender_email: str
    sender_name: str
    body: str
    message_id: str
    in_reply_to: str
    activity_id: int | None
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(entry) -> list:
        return list(entry.attachments.all())


class EntryIn(InputSchema):
    body: str = Field(..., max_length=100_000)
    kind: str = Field("reply", description="reply (public) | note (internal) | customer (a customer message)")
    status: str | None = Field(None, description="Also set this status (reply and note only)")
    sender_email: str = Field("", max_length=254, description="customer messages: who wrote")
    message_id: str = Field("", max_length=255)
    in_reply_to: str = Field("", max_length=255)


@router.get("/tickets/{ticket_id}/entries", response=list[EntryOut], summary="The conversation")
@keyset(orderings=("created_at",), default="created_at")
def list_entries(request: HttpRequest, ticket_id: int, public_only: bool = False):
    ticket = _ticket(request, ticket_id)
    entries = TicketEntry.objects.filter(ticket=ticket).prefetch_related("attachments")
    if public_only:
        entries = entries.exclude(kind=TicketEntry.Kind.NOTE)
    return entries


@router.post(
    "/tickets/{ticket_id}/entries",
    response={201: EntryOut},
    summary="Reply, add a note or a customer message",
)
def create_entry(request: HttpRequest, ticket_id: int, payload: EntryIn):
    actor = actor_of(request)
    ticket = _ticket(request, ticket_id, "change")
    if payload.kind == "customer":
        entry = services.add_customer_message(
            actor,
            ticket,
            body=payload.body,
            sender_email=payload.sender_email,
            message_id=payload.message_id,
            in_reply_to=payload.in_reply_to,
        )
    elif payload.kind in ("reply", "note"):
        entry = services.reply(
            actor, ticket, body=payload.body, public=payload.kind == "reply", status=payload.status or None
        )
    else:
        raise ValidationFailed([FieldError("kind", "reply | note | customer", "invalid_choice")])
    return Status(201, entry)


class StatusIn(InputSchema):
    status: str = Field(..., description="new | open | pending | on_hold | resolved | closed | reopened")
    reason: str = Field("", max_length=500, description="Kept as an internal note")


@router.post("/tickets/{ticket_id}/status", response=TicketDetailOut, summary="Change the status")
def set_status(request: HttpRequest, ticket_id: int, payload: StatusIn):
    """Transitions are checked (docs/service.md); pending / on hold pause the SLA clock."""
    ticket = services.change_status(
        actor_of(request), _ticket(request, ticket_id, "change"), payload.status, payload.reason
    )
    return _detail(ticket)


class AssignIn(InputSchema):
    owner_id: int | None = Field(None, description="The assignee (null: nobody)")
    team_id: int | None = Field(None, description="The queue (null: none)")


@router.post(
    "/tickets/{ticket_id}/assign", response=TicketDetailOut, summary="Assign to an agent and/or queue"
)
def assign_ticket(request: HttpRequest, ticket_id: int, payload: AssignIn):
    ticket = services.assign(
        actor_of(request), _ticket(request, ticket_id, "change"), user=payload.owner_id, team=payload.team_id
    )
    return _detail(ticket)
