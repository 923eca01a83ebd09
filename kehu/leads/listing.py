"""Leads described for the list machinery (``kehu.listviews``): fields, columns, sort keys, bulk actions."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.core.normalize import display_phone
from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register

from . import services
from .models import Lead
from .queries import leads_for


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices)


def _name(record, context):
    return format_html('<a href="{}">{}</a>', reverse("leads:detail", args=[record.pk]), record.name)


def _status(record, context):
    tone = {"qualified": "badge-success", "disqualified": "badge-muted"}.get(record.status, "")
    converted = (
        format_html(' <span class="badge badge-success">{}</span>', _("Converted"))
        if record.converted_at
        else ""
    )
    return format_html('<span class="badge {}">{}</span>{}', tone, record.get_status_display(), converted)


def _phone(record, context):
    return display_phone(record.phone, context.get("region") or "CN") if record.phone else "—"


def _created(record, context):
    return format_html(
        '<time datetime="{}">{}</time>', record.created_at.isoformat(), record.created_at.date().isoformat()
    )


LEAD_LIST = ListConfig(
    object_type=Lead.object_type,
    model=Lead,
    label=_("Leads"),
    list_url_name="leads:list",
    queryset=leads_for,
    fields=[
        ListField("name", _("Name"), "text"),
        ListField("company", _("Company"), "text"),
        ListField("title", _("Job title"), "text"),
        ListField("status", _("Status"), "choice", choices=_choices(Lead.Status.choices)),
        ListField("source", _("Source"), "choice", choices=_choices(Lead.Source.choices)),
        ListField("industry", _("Industry"), "text"),
        ListField("size", _("Size"), "choice", choices=_choices(Lead.Size.choices)),
        ListField("country", _("Country"), "text"),
        ListField("province", _("Province / state"), "text"),
        ListField("city", _("City"), "text"),
        ListField("utm_source", _("UTM source"), "text"),
        ListField("utm_campaign", _("UTM campaign"), "text"),
        ListField("score", _("Score"), "number", nullable=True),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("email", _("Email"), "text"),
        ListField("phone", _("Phone"), "text"),
        ListField("converted_at", _("Converted"), "datetime", nullable=True),
        ListField("created_at", _("Created"), "datetime"),
    ],
    columns=[
        Column("name", _("Name"), lambda r: r.name, _name, sort="name_pinyin"),
        Column("company", _("Company"), lambda r: r.company),
        Column("status", _("Status"), lambda r: r.get_status_display(), _status),
        Column("source", _("Source"), lambda r: r.get_source_display()),
        Column("score", _("Score"), lambda r: "" if r.score is None else r.score, sort="score"),
        Column("city", _("City"), lambda r: r.city),
        Column("email", _("Email"), lambda r: r.email),
        Column("phone", _("Phone"), lambda r: r.phone, _phone),
        Column("utm_campaign", _("UTM campaign"), lambda r: r.utm_campaign),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("created_at", _("Created"), lambda r: r.created_at, _created, sort="created_at"),
    ],
    default_columns=["name", "company", "status", "source", "city", "owner", "created_at"],
    orderings={"name": "name_pinyin", "created_at": "created_at", "score": "score"},
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: services.update_lead(actor, record, owner_id=value),
            "user",
        ),
        BulkAction(
            "delete", _("Delete"), "delete", lambda actor, record, value: services.delete_lead(actor, record)
        ),
    ],
)


def register_lists() -> None:
    register(LEAD_LIST)


def register_search() -> None:
    """Leads in the global search (name, Latin name, company, pinyin start, email, phone digits)."""
    from urllib.parse import quote

    from kehu.listviews.search import SearchGroup, register_search

    register_search(
        SearchGroup(
            key="leads",
            label=_("Leads"),
            object_type=Lead.object_type,
            search=lambda actor, q, limit: list(
                leads_for(actor, q).select_related(None).order_by("name")[:limit]
            ),
            url=lambda r: reverse("leads:detail", args=[r.pk]),
            title=lambda r: r.name,
            details=lambda r: [r.company, r.get_status_display()],
            more_url=lambda q: reverse("leads:list") + "?q=" + quote(q),
            order=50,  # after accounts 10, contacts 20, orders 40: customers first
        )
    )
