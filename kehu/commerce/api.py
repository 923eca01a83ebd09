"""REST endpoints for products, exchange rates, orders (with lines, bulk, upsert) and feedback.

Handlers are thin: schema → services / queries → schema. Money is Decimal in and out (JSON strings
on output, numbers or strings on input). Order lines are nested in the order: one request, all or
nothing, errors per line (``lines.2.quantity``; in bulk ``items.5.lines.0.quantity``).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record, require

from . import services
from .models import ExchangeRate, Feedback, Order, Product
from .queries import feedback_for, order_with_lines, orders_for, products_for, rates_for

router = Router(tags=["commerce"])

OrderStatus = Literal["draft", "confirmed", "paid", "shipped", "cancelled", "refunded"]
FeedbackKind = Literal["praise", "suggestion", "complaint", "other"]
FeedbackChannel = Literal["email", "phone", "web", "wechat", "in_person", "survey", "other"]
Number = Decimal | int | str  # JSON numbers or strings; services parse and range-check


# --- products --------------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    unit_price: Decimal
    unit_cost: Decimal
    currency: str
    active: bool
    description: str
    custom: dict
    created_at: datetime
    updated_at: datetime


class ProductIn(InputSchema):
    sku: str = Field(..., max_length=64)
    name: str = Field(..., max_length=200)
    category: str = Field("", max_length=100)
    unit_price: Number = Field(0, description="Up to 4 decimal places")
    unit_cost: Number = Field(0, description="Up to 4 decimal places")
    currency: str | None = Field(None, description="ISO 4217; defaults to the workspace's base currency")
    active: bool = True
    description: str = ""
    custom: dict = Field(default_factory=dict)


class ProductPatch(InputSchema):
    sku: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=100)
    unit_price: Number | None = None
    unit_cost: Number | None = None
    currency: str | None = None
    active: bool | None = None
    description: str | None = None
    custom: dict | None = None


class ProductFilters(Schema):
    q: str = Field("", description="Name or SKU contains")
    category: str = ""
    active: bool | None = None


@router.get("/products", response=list[ProductOut], summary="The product catalog")
@keyset(orderings=("name", "sku", "created_at", "updated_at"), default="name")
def list_products(request: HttpRequest, filters: Query[ProductFilters]):
    return products_for(actor_of(request), q=filters.q, category=filters.category, active=filters.active)


@router.post("/products", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, payload: ProductIn):
    return Status(201, services.create_product(actor_of(request), **payload.dict(exclude_unset=True)))


def _product(request: HttpRequest, product_id: int, action: str = "view") -> Product:
    actor = actor_of(request)
    require(actor, "view", Product.object_type)
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound()
    require(actor, action, Product.object_type)
    return product


@router.get("/products/{product_id}", response=ProductOut, summary="One product")
def get_product(request: HttpRequest, product_id: int):
    return _product(request, product_id)


@router.patch("/products/{product_id}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch):
    product = _product(request, product_id, "change")
    return services.update_product(actor_of(request), product, **payload.dict(exclude_unset=True))


@router.delete("/products/{product_id}", response={204: None}, summary="Delete a product")
def delete_product(request: HttpRequest, product_id: int):
    services.delete_product(actor_of(request), _product(request, product_id, "delete"))
    return Status(204, None)


# --- exchange rates --------------------------------------------------------------------------------


class RateOut(Schema):
    id: int
    currency: str
    rate_to_base: Decimal = Field(..., description="Units of the base currency per unit of currency")
    valid_from: date
    created_at: datetime
    updated_at: datetime


class RateIn(InputSchema):
    currency: str = Field(..., max_length=3)
    rate_to_base: Number = Field(..., description="> 0, up to 8 decimal places")
    valid_from: date


class RatePatch(InputSchema):
    currency: str | None = Field(None, max_length=3)
    rate_to_base: Number | None = None
    valid_from: date | None = None


class RateFilters(Schema):
    currency: str = ""


class RateOnOut(Schema):
    currency: str
    base_currency: str
    day: date
    rate_to_base: Decimal


@router.get("/exchange-rates", response=list[RateOut], summary="The workspace's exchange rates")
@keyset(orderings=("valid_from", "currency", "created_at"), default="-valid_from")
def list_rates(request: HttpRequest, filters: Query[RateFilters]):
    return rates_for(actor_of(request), filters.currency)


@router.get("/exchange-rates/on", response=RateOnOut, summary="The rate valid for a currency on a day")
def rate_on_day(request: HttpRequest, currency: str, day: date | None = None):
    actor = actor_of(request)
    require(actor, "view", ExchangeRate.object_type)
    day = day or timezone.localdate()
    rate = services.rate_on(currency.upper(), day, actor.workspace)
    return {
        "currency": currency.upper(),
        "base_currency": actor.workspace.base_currency,
        "day": day,
        "rate_to_base": rate,
    }


@router.post("/exchange-rates", response={201: RateOut}, summary="Add an exchange rate")
def create_rate(request: HttpRequest, payload: RateIn):
    return Status(201, services.create_rate(actor_of(request), **payload.dict()))


def _rate(request: HttpRequest, rate_id: int, action: str) -> ExchangeRate:
    actor = actor_of(request)
    require(actor, "view", ExchangeRate.object_type)
    rate = ExchangeRate.objects.filter(pk=rate_id).first()
    if rate is None:
        raise NotFound()
    require(actor, action, ExchangeRate.object_type)
    return rate


@router.get("/exchange-rates/{rate_id}", response=RateOut, summary="One exchange rate")
def get_rate(request: HttpRequest, rate_id: int):
    return _rate(request, rate_id, "view")


@router.patch("/exchange-rates/{rate_id}", response=RateOut, summary="Change an exchange rate")
def update_rate(request: HttpRequest, rate_id: int, payload: RatePatch):
    rate = _rate(request, rate_id, "change")
    return services.update_rate(actor_of(request), rate, **payload.dict(exclude_unset=True))


@router.delete("/exchange-rates/{rate_id}", response={204: None}, summary="Delete an exchange rate")
def delete_rate(request: HttpRequest, rate_id: int):
    services.delete_rate(actor_of(request), _rate(request, rate_id, "delete"))
    return Status(204, None)


# --- orders ----------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    discount: Decimal
    line_total: Decimal = Field(..., description="quantity × unit_price − discount, rounded half up")
    line_cost: Decimal


class OrderOut(Schema):
    id: int
    number: str
    external_id: str
    account_id: int
    contact_id: int | None
    order_date: date
    status: str
    currency: str
    total_amount: Decimal
    total_cost: Decimal
    discount: Decimal
    exchange_rate: Decimal = Field(..., description="Rate to the base currency on the order date (snapshot)")
    base_total_amount: Decimal
    base_total_cost: Decimal
    notes: str
    custom: dict
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(obj: Order) -> list:
        return list(obj.lines.all())


class OrderLineIn(InputSchema):
    product_id: int | None = None
    sku: str | None = Field(None, description="Instead of product_id: the product's SKU")
    description: str = Field("", max_length=300, description="Defaults to the product's name")
    quantity: Number = Field(..., description="> 0, up to 3 decimal places")
    unit_price: Number | None = Field(
        None, description="Defaults to the product's price (same currency only)"
    )
    unit_cost: Number | None = Field(None, description="Defaults to the product's cost (same currency only)")
    discount: Number = Field(0, description="Amount off this line")


class _OrderFields(InputSchema):
    number: str = Field("", max_length=40, description="Generated (SO-000001 …) when empty")
    account_id: int
    contact_id: int | None = None
    order_date: date | None = Field(None, description="Defaults to today")
    status: OrderStatus = "draft"
    currency: str | None = Field(None, description="ISO 4217; defaults to the base currency")
    discount: Number = Field(0, description="Amount off the order's lines total")
    exchange_rate: Number | None = Field(None, description="Override the rate table's rate on the order date")
    total_amount: Number | None = Field(None, description="Only for orders without lines")
    total_cost: Number | None = Field(None, description="Only for orders without lines")
    notes: str = ""
    custom: dict = Field(default_factory=dict)
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None
    lines: list[OrderLineIn] = Field(default_factory=list)


class OrderIn(_OrderFields):
    external_id: str = Field("", max_length=100, description="The ID in an ERP or shop; unique when set")


class OrderPatch(InputSchema):
    number: str | None = Field(None, max_length=40)
    external_id: str | None = Field(None, max_length=100)
    account_id: int | None = None
    contact_id: int | None = None
    order_date: date | None = None
    status: OrderStatus | None = None
    currency: str | None = None
    discount: Number | None = None
    exchange_rate: Number | None = None
    total_amount: Number | None = None
    total_cost: Number | None = None
    notes: str | None = None
    custom: dict | None = None
    owner_id: int | None = None
    team_id: int | None = None
    lines: list[OrderLineIn] | None = Field(None, description="When given, replaces all lines")


class OrderUpsert(OrderPatch):
    """Sets the given fields: like a patch for an existing order, a create (account_id required) else."""


class OrdersBulkIn(InputSchema):
    items: list[OrderIn] = Field(..., description=f"At most {services.MAX_BULK} orders")


class OrdersBulkOut(Schema):
    count: int
    items: list[OrderOut]


class OrderFilters(Schema):
    q: str = Field("", description="Number contains, or external ID equals")
    account_id: int | None = None
    contact_id: int | None = None
    status: OrderStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


def _order_payload(payload: Schema) -> dict:
    return payload.dict(exclude_unset=True)


@router.get("/orders", response=list[OrderOut], summary="Orders the caller may see")
@keyset(
    orderings=("order_date", "created_at", "updated_at", "number", "base_total_amount"), default="-order_date"
)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    """Also filters by ``?filters=<JSON filter spec>`` (AND/OR groups incl. custom fields and
    ``margin``; docs/lists.md)."""
    actor = actor_of(request)
    return apply_api_filters(actor, orders_for(actor, **filters.dict()), request)


@router.post("/orders", response={201: OrderDetailOut}, summary="Create an order with its lines")
def create_order(request: HttpRequest, payload: OrderIn):
    return Status(201, services.create_order(actor_of(request), **_order_payload(payload)))


@router.post("/orders/bulk", response={201: OrdersBulkOut}, summary="Create up to 1,000 orders at once")
def bulk_create_orders(request: HttpRequest, payload: OrdersBulkIn):
    """All or nothing: one invalid item fails the call, with errors such as ``items.5.lines.0.quantity``."""
    items = [item.dict(exclude_unset=True) for item in payload.items]
    orders = services.bulk_create_orders(actor_of(request), items)
    return Status(201, {"count": len(orders), "items": orders})


@router.put(
    "/orders/by-external-id/{external_id}",
    response={200: OrderDetailOut, 201: OrderDetailOut},
    summary="Create or update the order with this external ID (imports)",
)
def upsert_order(request: HttpRequest, external_id: str, payload: OrderUpsert):
    values = _order_payload(payload)
    if values.pop("external_id", external_id) != external_id:
        raise ValidationFailed([FieldError("external_id", _("Must match the external ID in the address."))])
    order, created = services.upsert_order_by_external_id(actor_of(request), external_id, values)
    return Status(201 if created else 200, order)


@router.get("/orders/{order_id}", response=OrderDetailOut, summary="One order with its lines")
def get_order(request: HttpRequest, order_id: int):
    return access_record(actor_of(request), order_with_lines(Order.objects.all()), order_id)


@router.patch("/orders/{order_id}", response=OrderDetailOut, summary="Change an order (and its lines)")
def update_order(request: HttpRequest, order_id: int, payload: OrderPatch):
    actor = actor_of(request)
    order = access_record(actor, Order.objects.all(), order_id, "change")
    return services.update_order(actor, order, **_order_payload(payload))


@router.delete("/orders/{order_id}", response={204: None}, summary="Delete an order")
def delete_order(request: HttpRequest, order_id: int):
    actor = actor_of(request)
    services.delete_order(actor, access_record(actor, Order.objects.all(), order_id, "delete"))
    return Status(204, None)


# --- feedback --------------------------------------------------------------------------------------


class FeedbackOut(Schema):
    id: int
    account_id: int
    contact_id: int | None
    order_id: int | None
    product_id: int | None
    rating: int | None
    kind: str
    channel: str
    comment: str
    received_at: datetime
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class FeedbackIn(InputSchema):
    account_id: int
    contact_id: int | None = None
    order_id: int | None = None
    product_id: int | None = None
    rating: int | None = Field(None, description="1 to 5")
    kind: FeedbackKind = "other"
    channel: FeedbackChannel = "other"
    comment: str = ""
    received_at: datetime | None = Field(None, description="Defaults to now")
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None


class FeedbackPatch(InputSchema):
    contact_id: int | None = None
    order_id: int | None = None
    product_id: int | None = None
    rating: int | None = None
    kind: FeedbackKind | None = None
    channel: FeedbackChannel | None = None
    comment: str | None = None
    received_at: datetime | None = None
    owner_id: int | None = None
    team_id: int | None = None


class FeedbackFilters(Schema):
    account_id: int | None = None
    contact_id: int | None = None
    kind: FeedbackKind | None = None


@router.get("/feedback", response=list[FeedbackOut], summary="Customer feedback the caller may see")
@keyset(orderings=("received_at", "created_at"), default="-received_at")
def list_feedback(request: HttpRequest, filters: Query[FeedbackFilters]):
    return feedback_for(
        actor_of(request),
        account_id=filters.account_id,
        contact_id=filters.contact_id,
        kind=filters.kind or "",
    )


@router.post("/feedback", response={201: FeedbackOut}, summary="Record customer feedback")
def create_feedback(request: HttpRequest, payload: FeedbackIn):
    values = payload.dict(exclude_unset=True)
    return Status(201, services.create_feedback(actor_of(request), **values))


@router.get("/feedback/{feedback_id}", response=FeedbackOut, summary="One feedback item")
def get_feedback(request: HttpRequest, feedback_id: int):
    return access_record(actor_of(request), Feedback.objects.all(), feedback_id)


@router.patch("/feedback/{feedback_id}", response=FeedbackOut, summary="Change a feedback item")
def update_feedback(request: HttpRequest, feedback_id: int, payload: FeedbackPatch):
    actor = actor_of(request)
    feedback = access_record(actor, Feedback.objects.all(), feedback_id, "change")
    return services.update_feedback(actor, feedback, **payload.dict(exclude_unset=True))


@router.delete("/feedback/{feedback_id}", response={204: None}, summary="Delete a feedback item")
def delete_feedback(request: HttpRequest, feedback_id: int):
    actor = actor_of(request)
    services.delete_feedback(actor, access_record(actor, Feedback.objects.all(), feedback_id, "delete"))
    return Status(204, None)
