"""Opportunities described for the list machinery (``kehu.listviews``): filterable fields, columns,
sort keys and bulk actions (which run through this app's services)."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.commerce.templatetags.kehu_commerce import money
from kehu.customers.listing import _tag_field
from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register
from kehu.workspaces.access import Actor

from . import services
from .models import Opportunity, Stage
from .queries import opportunities_for


def _stage_choices() -> tuple:
    return tuple((s.pk, f"{s.pipeline.name} · {s.name}") for s in Stage.objects.select_related("pipeline"))


def _link(record, context) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("deals:opportunity-detail", args=[record.pk]), record.name
    )


def _account(record, context) -> str:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("customers:account-detail", args=[record.account_id]),
        record.account.name,
    )


def _date(name: str):
    def html(record, context):
        day = getattr(record, name)
        if day is None:
            return "—"
        day = day.date() if hasattr(day, "date") else day
        return format_html('<time datetime="{}">{}</time>', day.isoformat(), day.isoformat())

    return html


def _tag_action(add: bool):
    def apply(actor: Actor, record, value: str) -> None:
        tags = services.tags_of(record)
        if add and value not in tags:
            services.update_opportunity(actor, record, tags=[*tags, value])
        elif not add and value in tags:
            services.update_opportunity(actor, record, tags=[t for t in tags if t != value])

    return apply


class StageChoices:
    """Choices read when the filter builder asks (stages are workspace data, not fixed choices)."""

    def __iter__(self):
        return iter(_stage_choices())

    def __len__(self):
        return len(_stage_choices())

    def __bool__(self):
        return True


OPPORTUNITY_LIST = ListConfig(
    object_type=Opportunity.object_type,
    model=Opportunity,
    label=_("Opportunities"),
    list_url_name="deals:opportunity-list",
    queryset=opportunities_for,
    fields=[
        ListField("name", _("Name"), "text"),
        ListField("account.name", _("Account name"), "text"),
        ListField("status", _("Status"), "choice", choices=tuple(Opportunity.Status.choices)),
        ListField("stage", _("Stage"), "choice", path="stage_id", choices=StageChoices()),
        ListField(
            "forecast_category",
            _("Forecast category"),
            "choice",
            choices=tuple(Opportunity.ForecastCategory.choices),
        ),
        ListField("amount", _("Amount"), "number"),
        ListField("base_amount", _("Amount in base currency"), "number"),
        ListField("probability", _("Probability (%)"), "number"),
        ListField("expected_close_date", _("Expected close date"), "date", nullable=True),
        ListField("closed_at", _("Closed"), "datetime", nullable=True),
        ListField("lost_reason", _("Lost reason"), "text"),
        ListField("source", _("Source"), "text"),
        ListField("campaign", _("Campaign"), "text"),
        ListField("next_step", _("Next step"), "text"),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
        _tag_field(Opportunity.object_type),
    ],
    columns=[
        Column("name", _("Name"), lambda r: r.name, _link, sort="name"),
        Column("account", _("Account"), lambda r: r.account.name, _account),
        Column("pipeline", _("Pipeline"), lambda r: r.pipeline.name),
        Column("stage", _("Stage"), lambda r: r.stage.name),
        Column("status", _("Status"), lambda r: r.get_status_display()),
        Column(
            "amount",
            _("Amount"),
            lambda r: r.amount,
            lambda r, c: format_html("{}", money(r.amount, r.currency)),
            sort="base_amount",
        ),
        Column("currency", _("Currency"), lambda r: r.currency),
        Column("probability", _("Probability (%)"), lambda r: r.probability, sort="probability"),
        Column("forecast_category", _("Forecast category"), lambda r: r.get_forecast_category_display()),
        Column(
            "expected_close_date",
            _("Expected close date"),
            lambda r: r.expected_close_date,
            _date("expected_close_date"),
            sort="expected_close_date",
        ),
        Column("closed_at", _("Closed"), lambda r: r.closed_at, _date("closed_at"), sort="closed_at"),
        Column("lost_reason", _("Lost reason"), lambda r: r.lost_reason),
        Column("next_step", _("Next step"), lambda r: r.next_step),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("created_at", _("Created"), lambda r: r.created_at, _date("created_at"), sort="created_at"),
        Column("updated_at", _("Updated"), lambda r: r.updated_at, _date("updated_at"), sort="updated_at"),
    ],
    default_columns=["name", "account", "stage", "amount", "probability", "expected_close_date", "owner"],
    orderings={
        "name": "name",
        "amount": "base_amount",
        "probability": "probability",
        "expected_close_date": "expected_close_date",
        "closed_at": "closed_at",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: services.update_opportunity(actor, record, owner_id=value),
            "user",
        ),
        BulkAction("add_tag", _("Add tag"), "change", _tag_action(True), "tag"),
        BulkAction("remove_tag", _("Remove tag"), "change", _tag_action(False), "tag"),
        BulkAction(
            "delete",
            _("Delete"),
            "delete",
            lambda actor, record, value: services.delete_opportunity(actor, record),
        ),
    ],
)


def register_lists() -> None:
    register(OPPORTUNITY_LIST)
