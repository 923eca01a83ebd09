"""Scoped reads: order lists, purchase summaries (one aggregate query), products and feedback."""

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from kehu.customers.models import Account, Contact
from kehu.workspaces.access import Actor, require, visible

from .models import ExchangeRate, Feedback, Order, Product
from .money import cents
from .services import REVENUE_STATUSES

ZERO = Decimal("0.00")


def orders_for(
    actor: Actor,
    *,
    q: str = "",
    account_id: int | None = None,
    contact_id: int | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Order]:
    """Orders the actor may see, filtered; ``q`` matches the number or the external ID."""
    qs = visible(actor, Order.objects.select_related("account", "owner"))
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(order_date__gte=date_from)
    if date_to:
        qs = qs.filter(order_date__lte=date_to)
    if q := q.strip():
        qs = qs.filter(Q(number__icontains=q) | Q(external_id=q))
    return qs


def order_with_lines(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("account", "contact", "owner", "team").prefetch_related("lines__product")


def products_for(
    actor: Actor, *, q: str = "", category: str = "", active: bool | None = None
) -> QuerySet[Product]:
    """The catalog (products are not owned records: the object type's view grant is enough)."""
    require(actor, "view", Product.object_type)
    qs = Product.objects.all()
    if q := q.strip():
        qs = qs.filter(Q(name__icontains=q) | Q(sku__icontains=q))
    if category:
        qs = qs.filter(category=category)
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def rates_for(actor: Actor, currency: str = "") -> QuerySet[ExchangeRate]:
    require(actor, "view", ExchangeRate.object_type)
    qs = ExchangeRate.objects.all()
    return qs.filter(currency=currency.upper()) if currency else qs


def feedback_for(
    actor: Actor, *, account_id: int | None = None, contact_id: int | None = None, kind: str = ""
) -> QuerySet[Feedback]:
    qs = visible(actor, Feedback.objects.select_related("account", "contact", "owner"))
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


@dataclass(frozen=True)
class PurchaseSummary:
    """Purchase figures in the workspace's base currency, over orders that count as revenue."""

    currency: str
    orders: int
    first_order: date | None
    last_order: date | None
    revenue: Decimal
    cost: Decimal
    margin: Decimal
    margin_rate: Decimal | None  # margin / revenue, 4 places; None without revenue
    average_order_value: Decimal

    def as_dict(self) -> dict:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Decimal):
                data[key] = str(value)
            elif isinstance(value, date):
                data[key] = value.isoformat()
        return data


def _customer_filter(record: Account | Contact) -> Q:
    return Q(contact=record) if isinstance(record, Contact) else Q(account=record)


def purchase_summary(actor: Actor, record: Account | Contact) -> PurchaseSummary:
    """First/last order, count, revenue, cost, margin and average order value: ONE aggregate query.

    Only orders the actor may see count, and only those in ``REVENUE_STATUSES``. For a contact, the
    orders where it is the order's contact.
    """
    figures = visible(
        actor, Order.objects.filter(_customer_filter(record), status__in=REVENUE_STATUSES)
    ).aggregate(
        first=Min("order_date"),
        last=Max("order_date"),
        count=Count("id"),
        revenue=Coalesce(Sum("base_total_amount"), ZERO),
        cost=Coalesce(Sum("base_total_cost"), ZERO),
    )
    revenue, cost, count = (
        cents(Decimal(figures["revenue"])),
        cents(Decimal(figures["cost"])),
        figures["count"],
    )
    margin = revenue - cost
    return PurchaseSummary(
        currency=actor.workspace.base_currency,
        orders=count,
        first_order=figures["first"],
        last_order=figures["last"],
        revenue=revenue,
        cost=cost,
        margin=margin,
        margin_rate=(margin / revenue).quantize(Decimal("0.0001")) if revenue else None,
        average_order_value=cents(revenue / count) if count else ZERO,
    )


def latest_orders(actor: Actor, record: Account | Contact, limit: int = 10) -> list[Order]:
    return list(
        visible(actor, Order.objects.filter(_customer_filter(record)))
        .only(
            "id",
            "number",
            "order_date",
            "status",
            "currency",
            "total_amount",
            "base_total_amount",
            "owner_id",
            "team_id",
            "account_id",
            "contact_id",
        )
        .order_by("-order_date", "-id")[:limit]
    )


def feedback_summary(actor: Actor, record: Account | Contact) -> dict:
    """Count, average rating (1 place) and complaints among the feedback the actor may see."""
    filters = Q(contact=record) if isinstance(record, Contact) else Q(account=record)
    figures = visible(actor, Feedback.objects.filter(filters)).aggregate(
        count=Count("id"),
        rated=Count("rating"),
        average=Avg("rating"),
        complaints=Count("id", filter=Q(kind=Feedback.Kind.COMPLAINT)),
    )
    average = figures["average"]
    return {
        "count": figures["count"],
        "rated": figures["rated"],
        "average_rating": str(Decimal(str(average)).quantize(Decimal("0.1")))
        if average is not None
        else None,
        "complaints": figures["complaints"],
    }


FIRST_ORDER_FIELDS = {Account.object_type: "account_id", Contact.object_type: "contact_id"}


def first_orders(workspace, record_type: str, since: date, until: date) -> list[tuple[int, date]]:
    """(record id, date of its first counted order) for records whose first order fell in [since, until].

    Feeds the follow-up plans' "after the first order" trigger (registered in ``apps.py``). Only
    records with an order in the window can qualify, so the grouping runs over those alone.
    """
    field = FIRST_ORDER_FIELDS.get(record_type)
    if field is None:
        return []
    counted = Order.objects.filter(workspace=workspace, status__in=REVENUE_STATUSES).exclude(**{field: None})
    in_window = counted.filter(order_date__gte=since, order_date__lte=until).values(field)
    return list(
        counted.filter(**{f"{field}__in": in_window})
        .values(field)
        .annotate(first=Min("order_date"))
        .filter(first__gte=since, first__lte=until)
        .values_list(field, "first")
    )
