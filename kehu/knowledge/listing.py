"""Articles described for the list machinery (``kehu.listviews``)."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register, stamp_cell

from . import services
from .models import LANGUAGES, Article
from .queries import articles_for


def _title(record, context):
    return format_html('<a href="{}">{}</a>', reverse("knowledge:detail", args=[record.pk]), record.title)


def _status(record, context):
    tone = "badge-success" if record.status == Article.Status.PUBLISHED else "badge-muted"
    internal = (
        format_html(' <span class="badge">{}</span>', _("Internal"))
        if record.visibility == Article.Visibility.INTERNAL
        else ""
    )
    return format_html('<span class="badge {}">{}</span>{}', tone, record.get_status_display(), internal)


ARTICLE_LIST = ListConfig(
    object_type=Article.object_type,
    model=Article,
    label=_("Articles"),
    list_url_name="knowledge:list",
    queryset=articles_for,
    fields=[
        ListField("title", _("Title"), "text"),
        ListField("language", _("Language"), "choice", choices=tuple(LANGUAGES)),
        ListField("status", _("Status"), "choice", choices=tuple(Article.Status.choices)),
        ListField("visibility", _("Visibility"), "choice", choices=tuple(Article.Visibility.choices)),
        ListField("view_count", _("Views"), "number"),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("updated_at", _("Updated"), "datetime"),
        ListField("created_at", _("Created"), "datetime"),
    ],
    columns=[
        Column("title", _("Title"), lambda r: r.title, _title, sort="title"),
        Column("category", _("Category"), lambda r: str(r.category) if r.category_id else ""),
        Column("language", _("Language"), lambda r: r.get_language_display()),
        Column("status", _("Status"), lambda r: r.get_status_display(), _status),
        Column("views", _("Views"), lambda r: r.view_count, sort="view_count"),
        Column("helpful", _("Helpful"), lambda r: f"{r.helpful_yes} / {r.helpful_no}"),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner_id else ""),
        Column("updated_at", _("Updated"), *stamp_cell("updated_at"), sort="updated_at"),
    ],
    default_columns=["title", "category", "language", "status", "views", "helpful", "updated_at"],
    orderings={
        "title": "title",
        "updated_at": "updated_at",
        "view_count": "view_count",
        "created_at": "created_at",
    },
    default_ordering="-updated_at",
    bulk_actions=[
        BulkAction(
            "publish", _("Publish"), "change", lambda actor, record, value: services.publish(actor, record)
        ),
        BulkAction(
            "delete",
            _("Delete"),
            "delete",
            lambda actor, record, value: services.delete_article(actor, record),
        ),
    ],
    detail_url=lambda r: reverse("knowledge:detail", args=[r.pk]),
)


def register_lists() -> None:
    register(ARTICLE_LIST)
