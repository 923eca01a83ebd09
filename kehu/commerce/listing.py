"""Orders described for the list machinery (``kehu.listviews``): filterable fields, columns, sort keys
and bulk actions, which run through this app's services (transitions, validation, audit)."""

from django.db.models import F, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register, stamp_cell
from kehu.workspaces.access import Actor

from . import services
from .models import Order
from .queries import orders_for
from .templatetags.kehu_commerce import money, status_badge


def order_records(actor: Actor, q: str = ""):
    """The orders a member may see (search on number / external ID), for the page, exports and API."""
    return orders_for(actor, q=q).select_related("contact")


def _margin(actor: Actor, lookup: str, value) -> Q:
    """Margin (total − cost) compared without an annotation, so API querysets need nothing extra."""
    operator = {"eq": "exact"}.get(lookup, lookup)
    return Q(**{f"total_amount__{operator}": F("total_cost") + value})


def _link(url_name: str, pk, text) -> str:
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)


def _day(record, context) -> str:
    day = record.order_date
    return format_html('<time datetime="{}">{}</time>', day.isoformat(), day.isoformat())


def _money(name: str):
    def html(record, context):
        return format_html("{}", money(getattr(record, name), record.currency))

    return html


def _status_action(status: str, label) -> BulkAction:
    """One action per target status: the services refuse transitions they do not allow (e.g. a
    cancelled order is never paid), and the refusal is reported as a skipped record."""
    return BulkAction(
        f"status_{status}",
        label,
        "change",
        lambda actor, record, value: services.change_status(actor, record, status),
    )


ORDER_LIST = ListConfig(
    object_type=Order.object_type,
    model=Order,
    label=_("Orders"),
    list_url_name="commerce:order-list",
    queryset=order_records,
    fields=[
        ListField("number", _("Number"), "text"),
        ListField("external_id", _("External ID"), "text"),
        ListField("status", _("Status"), "choice", choices=tuple(Order.Status.choices)),
        ListField("order_date", _("Order date"), "date"),
        ListField("account.name", _("Account name"), "text"),
        ListField("account.city", _("Account city"), "text"),
        ListField("contact.name", _("Contact"), "text", nullable=True),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("currency", _("Currency"), "text"),
        ListField("total_amount", _("Total"), "number"),
        ListField("base_total_amount", _("Total in base currency"), "number"),
        ListField(
            "margin",
            _("Margin"),
            "number",
            condition=_margin,
            only=("gte", "lte", "gt", "lt", "eq"),
        ),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
    ],
    columns=[
        Column(
            "number",
            _("Number"),
            lambda r: r.number,
            lambda r, c: _link("commerce:order-detail", r.pk, r.number),
            sort="number",
        ),
        Column(
            "status",
            _("Status"),
            lambda r: r.get_status_display(),
            lambda r, c: format_html(
                '<span class="badge {}">{}</span>', status_badge(r.status), r.get_status_display()
            ),
        ),
        Column("order_date", _("Order date"), lambda r: r.order_date, _day, sort="order_date"),
        Column(
            "account",
            _("Account"),
            lambda r: r.account.name,
            lambda r, c: _link("customers:account-detail", r.account_id, r.account.name),
        ),
        Column("account_city", _("Account city"), lambda r: r.account.city),
        Column(
            "contact",
            _("Contact"),
            lambda r: r.contact.name if r.contact_id else "",
            lambda r, c: (
                _link("customers:contact-detail", r.contact_id, r.contact.name) if r.contact_id else "—"
            ),
        ),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("currency", _("Currency"), lambda r: r.currency),
        Column("total", _("Total"), lambda r: r.total_amount, _money("total_amount")),
        Column(
            "base_total",
            _("Total in base currency"),
            lambda r: r.base_total_amount,
            lambda r, c: format_html("{}", money(r.base_total_amount)),
            sort="base_total_amount",
        ),
        Column("margin", _("Margin"), lambda r: r.margin, _money("margin")),
        Column("external_id", _("External ID"), lambda r: r.external_id),
        Column("created_at", _("Created"), *stamp_cell("created_at"), sort="created_at"),
        Column("updated_at", _("Updated"), *stamp_cell("updated_at"), sort="updated_at"),
    ],
    default_columns=["number", "order_date", "account", "status", "total", "owner"],
    # order_date and amount are served by (workspace, -order_date, -id) and (workspace,
    # base_total_amount, id) (see models.Order.Meta); number by the unique (workspace, number).
    orderings={
        "order_date": "order_date",
        "amount": "base_total_amount",
        "number": "number",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    default_ordering="-order_date",
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: services.update_order(actor, record, owner_id=value),
            "user",
        ),
        _status_action(Order.Status.CONFIRMED, _("Mark as confirmed")),
        _status_action(Order.Status.PAID, _("Mark as paid")),
        _status_action(Order.Status.SHIPPED, _("Mark as shipped")),
        _status_action(Order.Status.CANCELLED, pgettext_lazy("bulk action", "Cancel orders")),
        _status_action(Order.Status.REFUNDED, _("Mark as refunded")),
        BulkAction(
            "delete", _("Delete"), "delete", lambda actor, record, value: services.delete_order(actor, record)
        ),
    ],
    detail_url=lambda r: reverse("commerce:order-detail", args=[r.pk]),
)


def _search_orders(actor: Actor, q: str, limit: int) -> list:
    # Order numbers carry digits: a query without any is not an order number, and skipping it spares
    # a scan of every order for words like a customer's name.
    if not any(ch.isdigit() for ch in q):
        return []
    return list(orders_for(actor, q=q).order_by("-order_date", "-id")[:limit])


def register_lists() -> None:
    from urllib.parse import quote

    from kehu.listviews.search import SearchGroup, register_search

    register(ORDER_LIST)
    register_search(
        SearchGroup(
            key="orders",
            label=_("Orders"),
            object_type=Order.object_type,
            search=_search_orders,
            url=lambda r: reverse("commerce:order-detail", args=[r.pk]),
            title=lambda r: r.number,
            details=lambda r: [r.account.name, r.order_date.isoformat(), money(r.total_amount, r.currency)],
            more_url=lambda q: reverse("commerce:order-list") + "?q=" + quote(q),
            order=40,
        )
    )
