"""Quotes described for the list machinery (``kehu.listviews``): fields, columns, sorts, bulk actions."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.deals.listing import _account, _date
from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register

from . import services
from .models import Quote
from .queries import quotes_for
from .templatetags.kehu_quotes import quote_money


def _link(record, context) -> str:
    return format_html('<a href="{}">{}</a>', reverse("quotes:quote-detail", args=[record.pk]), str(record))


def _opportunity(record, context) -> str:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("deals:opportunity-detail", args=[record.opportunity_id]),
        record.opportunity.name,
    )


def _status(record, context) -> str:
    return format_html(
        '<span class="badge {}">{}</span>', BADGES.get(record.status, ""), record.get_status_display()
    )


BADGES = {
    "draft": "badge-muted",
    "sent": "",
    "accepted": "badge-success",
    "rejected": "badge-danger",
    "expired": "badge-warning",
    "superseded": "badge-muted",
}

QUOTE_LIST = ListConfig(
    object_type=Quote.object_type,
    model=Quote,
    label=_("Quotes"),
    list_url_name="quotes:quote-list",
    queryset=quotes_for,
    fields=[
        ListField("number", _("Number"), "text"),
        ListField("status", _("Status"), "choice", choices=tuple(Quote.Status.choices)),
        ListField("is_current", _("Current version"), "bool"),
        ListField("opportunity.name", _("Opportunity"), "text"),
        ListField("account.name", _("Account name"), "text"),
        ListField("currency", _("Currency"), "text"),
        ListField("total", _("Total"), "number"),
        ListField("issue_date", _("Issue date"), "date"),
        ListField("valid_until", _("Valid until"), "date"),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
    ],
    columns=[
        Column("number", _("Number"), lambda r: str(r), _link, sort="number"),
        Column("opportunity", _("Opportunity"), lambda r: r.opportunity.name, _opportunity),
        Column("account", _("Account"), lambda r: r.account.name, _account),
        Column("status", _("Status"), lambda r: r.get_status_display(), _status),
        Column(
            "total",
            _("Total"),
            lambda r: r.total,
            lambda r, c: format_html("{}", quote_money(r.total, r.currency)),
            sort="total",
        ),
        Column("currency", _("Currency"), lambda r: r.currency),
        Column("issue_date", _("Issue date"), lambda r: r.issue_date, _date("issue_date"), sort="issue_date"),
        Column(
            "valid_until", _("Valid until"), lambda r: r.valid_until, _date("valid_until"), sort="valid_until"
        ),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("created_at", _("Created"), lambda r: r.created_at, _date("created_at"), sort="created_at"),
        Column("updated_at", _("Updated"), lambda r: r.updated_at, _date("updated_at"), sort="updated_at"),
    ],
    default_columns=["number", "opportunity", "account", "status", "total", "valid_until", "owner"],
    orderings={
        "number": "number",
        "total": "total",
        "issue_date": "issue_date",
        "valid_until": "valid_until",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: services.update_quote(actor, record, owner_id=value),
            "user",
        ),
        BulkAction(
            "delete", _("Delete"), "delete", lambda actor, record, value: services.delete_quote(actor, record)
        ),
    ],
    detail_url=lambda record: reverse("quotes:quote-detail", args=[record.pk]),
)


def register_lists() -> None:
    register(QUOTE_LIST)
