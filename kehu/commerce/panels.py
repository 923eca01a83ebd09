"""The commerce blocks of the 360° view: purchase history and customer feedback."""

from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Contact
from kehu.customers.panels import Panel, register_panel
from kehu.workspaces.access import Actor

from .models import Feedback, Order
from .queries import feedback_for, feedback_summary, latest_orders, purchase_summary

CUSTOMER_TYPES = ("customers.account", "customers.contact")
LATEST = 10


def _filter_param(record) -> str:
    return f"contact={record.pk}" if isinstance(record, Contact) else f"account={record.pk}"


def purchases_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Order.object_type):
        return None
    return {
        "summary": purchase_summary(actor, record),
        "orders": latest_orders(actor, record, LATEST),
        "filter_param": _filter_param(record),
        "can_create": actor.can("create", Order.object_type) and not isinstance(record, Contact),
    }


def purchases_data(actor: Actor, record) -> dict:
    if not actor.can("view", Order.object_type):
        return {}
    return {
        "summary": purchase_summary(actor, record).as_dict(),
        "latest_orders": [
            {
                "id": o.pk,
                "number": o.number,
                "order_date": o.order_date.isoformat(),
                "status": o.status,
                "currency": o.currency,
                "total_amount": str(o.total_amount),
                "base_total_amount": str(o.base_total_amount),
            }
            for o in latest_orders(actor, record, LATEST)
        ],
    }


def _latest_feedback(actor: Actor, record, limit: int = 5) -> list[Feedback]:
    filters = {"contact_id": record.pk} if isinstance(record, Contact) else {"account_id": record.pk}
    return list(feedback_for(actor, **filters).order_by("-received_at", "-id")[:limit])


def _account_id(record) -> int | None:
    return record.account_id if isinstance(record, Contact) else record.pk


def feedback_context(actor: Actor, record) -> dict | None:
    if not actor.can("view", Feedback.object_type):
        return None
    return {
        "feedback_summary": feedback_summary(actor, record),
        "feedback_items": _latest_feedback(actor, record),
        "can_add_feedback": actor.can("create", Feedback.object_type) and bool(_account_id(record)),
        "account_id": _account_id(record),
        "contact_id": record.pk if isinstance(record, Contact) else "",
        "kinds": Feedback.Kind.choices,
        "channels": Feedback.Channel.choices,
    }


def feedback_data(actor: Actor, record) -> dict:
    if not actor.can("view", Feedback.object_type):
        return {}
    return {
        "summary": feedback_summary(actor, record),
        "latest": [
            {
                "id": f.pk,
                "rating": f.rating,
                "kind": f.kind,
                "channel": f.channel,
                "comment": f.comment,
                "received_at": f.received_at.isoformat(),
            }
            for f in _latest_feedback(actor, record)
        ],
    }


def register() -> None:
    register_panel(
        Panel(
            key="purchases",
            title=_("Purchase history"),
            object_types=CUSTOMER_TYPES,
            template="commerce/panels/purchases.html",
            context=purchases_context,
            data=purchases_data,
            order=30,
        )
    )
    register_panel(
        Panel(
            key="feedback",
            title=_("Customer feedback"),
            object_types=CUSTOMER_TYPES,
            template="commerce/panels/feedback.html",
            context=feedback_context,
            data=feedback_data,
            order=40,
            column="side",
        )
    )
