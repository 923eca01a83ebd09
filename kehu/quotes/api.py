"""REST endpoints for quotes: CRUD with nested lines, and the revise / send / accept / reject actions.

Handlers are thin: schema → services → schema. Amounts are computed by the server (``totals``);
a quote's ``GET`` includes its totals and every line's net, tax and gross.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.customfields.api import custom_field, custom_resolver
from kehu.customfields.queries import apply_params as apply_custom_filters
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record

from . import services
from .models import Quote
from .queries import quotes_for, with_lines

router = Router(tags=["quotes"])

QuoteStatus = Literal["draft", "sent", "accepted", "rejected", "expired", "superseded"]
Number = Decimal | int | str  # JSON numbers or strings; services parse and range-check


class QuoteLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    net_amount: Decimal = Field(..., description="quantity × unit price − line discount, rounded half up")
    tax_amount: Decimal = Field(
        ..., description="Tax on the net after the line's share of the quote discount"
    )
    gross_amount: Decimal


class QuoteOut(Schema):
    id: int
    number: str
    version: int
    is_current: bool
    opportunity_id: int
    account_id: int
    contact_id: int | None
    status: QuoteStatus
    currency: str
    issue_date: date
    valid_until: date
    terms: str
    notes: str
    discount_percent: Decimal
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    win_opportunity: bool
    sent_at: datetime | None
    decided_at: datetime | None
    rejection_reason: str
    order_id: int | None
    custom: dict = custom_field()
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    resolve_custom = custom_resolver("quotes.quote")


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_lines(obj: Quote) -> list:
        return list(obj.lines.all())


class QuoteLineIn(InputSchema):
    product_id: int | None = None
    description: str = Field("", max_length=300, description="Defaults to the product's name")
    quantity: Number = Field(..., description="> 0, up to 3 decimal places")
    unit_price: Number | None = Field(
        None, description="≥ 0; defaults to the product's price (same currency)"
    )
    discount_percent: Number = Field(0, description="0–100")
    tax_rate: Number = Field(0, description="Percent, 0–100")


class QuoteIn(InputSchema):
    opportunity_id: int
    contact_id: int | None = Field(None, description="Defaults to the opportunity's primary contact")
    issue_date: date | None = Field(None, description="Defaults to today")
    valid_until: date | None = Field(
        None, description=f"Defaults to {services.VALIDITY_DAYS} days after issue"
    )
    terms: str = ""
    notes: str = ""
    discount_percent: Number = Field(0, description="Quote-level discount, 0–100")
    win_opportunity: bool = Field(True, description="Win the opportunity when the quote is accepted")
    custom: dict | None = custom_field(input=True)
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None
    lines: list[QuoteLineIn] | None = Field(None, description="Left out: copied from the opportunity's lines")


class QuotePatch(InputSchema):
    contact_id: int | None = None
    issue_date: date | None = None
    valid_until: date | None = None
    terms: str | None = None
    notes: str | None = None
    discount_percent: Number | None = None
    win_opportunity: bool | None = None
    custom: dict | None = custom_field(input=True)
    owner_id: int | None = None
    team_id: int | None = None
    lines: list[QuoteLineIn] | None = Field(None, description="When given, replaces all lines")


class AcceptOptions(Schema):
    win_opportunity: bool | None = Field(
        None, description="Overrides the quote's setting for this acceptance"
    )


class RejectIn(InputSchema):
    reason: str = Field(..., max_length=300)


class QuoteFilters(Schema):
    q: str = Field("", description="Number, opportunity or account name contains")
    opportunity_id: int | None = None
    account_id: int | None = None
    status: QuoteStatus | None = None
    current: bool | None = Field(None, description="Only current versions (true) or only old ones (false)")


def _payload(payload: Schema) -> dict:
    values = payload.dict(exclude_unset=True)
    if values.get("lines") is None:
        values.pop("lines", None)
    return values


@router.get("/quotes", response=list[QuoteOut], summary="Quotes the caller may see")
@keyset(orderings=("created_at", "updated_at", "number", "total", "valid_until"), default="-created_at")
def list_quotes(request: HttpRequest, filters: Query[QuoteFilters]):
    """Also filters by ``?custom.<key>=v`` and ``?filters=<JSON filter spec>`` (docs/lists.md)."""
    actor = actor_of(request)
    qs = quotes_for(actor, filters.q)
    if filters.opportunity_id is not None:
        qs = qs.filter(opportunity_id=filters.opportunity_id)
    if filters.account_id is not None:
        qs = qs.filter(account_id=filters.account_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.current is not None:
        qs = qs.filter(is_current=filters.current)
    return apply_api_filters(actor, apply_custom_filters(actor, qs, request.GET), request)


@router.post("/quotes", response={201: QuoteDetailOut}, summary="Create a draft quote for an opportunity")
def create_quote(request: HttpRequest, payload: QuoteIn):
    actor = actor_of(request)
    quote = services.create_quote(actor, **_payload(payload))
    return Status(201, with_lines(Quote.objects.all()).get(pk=quote.pk))


def _get(request: HttpRequest, quote_id: int, action: str = "view") -> Quote:
    return access_record(actor_of(request), with_lines(Quote.objects.all()), quote_id, action)


def _fresh(quote: Quote) -> Quote:
    return with_lines(Quote.objects.all()).get(pk=quote.pk)


@router.get("/quotes/{quote_id}", response=QuoteDetailOut, summary="One quote with its lines and totals")
def get_quote(request: HttpRequest, quote_id: int):
    return _get(request, quote_id)


@router.patch("/quotes/{quote_id}", response=QuoteDetailOut, summary="Change a draft quote (and its lines)")
def update_quote(request: HttpRequest, quote_id: int, payload: QuotePatch):
    quote = _get(request, quote_id, "change")
    return _fresh(services.update_quote(actor_of(request), quote, **_payload(payload)))


@router.delete("/quotes/{quote_id}", response={204: None}, summary="Delete a draft quote")
def delete_quote(request: HttpRequest, quote_id: int):
    services.delete_quote(actor_of(request), _get(request, quote_id, "delete"))
    return Status(204, None)


@router.post("/quotes/{quote_id}/revise", response={201: QuoteDetailOut}, summary="Make the next version")
def revise_quote(request: HttpRequest, quote_id: int):
    return Status(201, _fresh(services.revise(actor_of(request), _get(request, quote_id, "change"))))


@router.post("/quotes/{quote_id}/send", response=QuoteDetailOut, summary="Mark the quote as sent")
def send_quote(request: HttpRequest, quote_id: int):
    return _fresh(services.send(actor_of(request), _get(request, quote_id, "change")))


@router.post(
    "/quotes/{quote_id}/accept",
    response=QuoteDetailOut,
    summary="Accept: create the order (and win the opportunity); idempotent",
)
def accept_quote(request: HttpRequest, quote_id: int, options: Query[AcceptOptions]):
    """``?win_opportunity=false`` accepts without winning the deal (default: the quote's setting)."""
    quote = _get(request, quote_id, "change")
    return _fresh(services.accept(actor_of(request), quote, win_opportunity=options.win_opportunity))


@router.post("/quotes/{quote_id}/reject", response=QuoteDetailOut, summary="The customer declined")
def reject_quote(request: HttpRequest, quote_id: int, payload: RejectIn):
    return _fresh(services.reject(actor_of(request), _get(request, quote_id, "change"), payload.reason))
