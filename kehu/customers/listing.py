"""Accounts and contacts described for the list machinery (``kehu.listviews``): filterable fields,
columns, sort keys and bulk actions (which run through this app's services)."""

from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.core.normalize import display_phone
from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register, stamp_cell
from kehu.workspaces.access import Actor

from . import services
from .models import Account, Contact, TaggedRecord
from .queries import accounts_for, contacts_for


def _tag_field(object_type: str) -> ListField:
    def condition(actor: Actor, lookup: str, value: str) -> Q:
        tagged = TaggedRecord.objects.filter(object_type=object_type, tag__name=value).values("object_id")
        return ~Q(pk__in=tagged) if lookup == "hasnot" else Q(pk__in=tagged)

    return ListField("tag", _("Tag"), "tag", condition=condition)


def _common_fields(model) -> list[ListField]:
    return [
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("email", _("Email"), "text"),
        ListField("phone", _("Phone"), "text"),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
        _tag_field(model.object_type),
    ]


def _link(view: str):
    def html(record, context):
        return format_html(
            '<a href="{}">{}</a>', reverse(f"customers:{view}-detail", args=[record.pk]), record.name
        )

    return html


def _owner(record) -> str:
    return str(record.owner) if record.owner_id else ""


def _phone(record, context) -> str:
    return format_html(
        "{}", display_phone(record.phone, context.get("region") or "CN") if record.phone else "—"
    )


def _tag_action(model, update, add: bool):
    def apply(actor: Actor, record, value: str) -> None:
        tags = services.tags_of(record)
        if add and value not in tags:
            update(actor, record, tags=[*tags, value])
        elif not add and value in tags:
            update(actor, record, tags=[t for t in tags if t != value])

    return apply


def _bulk_actions(update, delete, model) -> list[BulkAction]:
    return [
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: update(actor, record, owner_id=value),
            "user",
        ),
        BulkAction("add_tag", _("Add tag"), "change", _tag_action(model, update, True), "tag"),
        BulkAction("remove_tag", _("Remove tag"), "change", _tag_action(model, update, False), "tag"),
        BulkAction("delete", _("Delete"), "delete", lambda actor, record, value: delete(actor, record)),
    ]


def _choices(choices) -> tuple:
    return tuple((value, label) for value, label in choices)


created_value, created_html = stamp_cell("created_at")
updated_value, updated_html = stamp_cell("updated_at")

ACCOUNT_LIST = ListConfig(
    object_type=Account.object_type,
    model=Account,
    label=_("Accounts"),
    list_url_name="customers:account-list",
    queryset=accounts_for,
    fields=[
        ListField("name", _("Name"), "text"),
        ListField("name_en", _("Latin name"), "text"),
        ListField("kind", _("Kind"), "choice", choices=_choices(Account.Kind.choices)),
        ListField("status", _("Status"), "choice", choices=_choices(Account.Status.choices)),
        ListField("industry", _("Industry"), "text"),
        ListField("size", _("Size"), "choice", choices=_choices(Account.Size.choices)),
        ListField("source", _("Source"), "text"),
        ListField("country", _("Country"), "text"),
        ListField("province", _("Province / state"), "text"),
        ListField("city", _("City"), "text"),
        *_common_fields(Account),
    ],
    columns=[
        Column("name", _("Name"), lambda r: r.name, _link("account"), sort="name_pinyin"),
        Column(
            "kind",
            _("Kind"),
            lambda r: r.get_kind_display(),
            lambda r, c: format_html('<span class="badge badge-muted">{}</span>', r.get_kind_display()),
        ),
        Column("status", _("Status"), lambda r: r.get_status_display()),
        Column("industry", _("Industry"), lambda r: r.industry),
        Column("size", _("Size"), lambda r: r.get_size_display() if r.size else ""),
        Column("source", _("Source"), lambda r: r.source),
        Column("province", _("Province / state"), lambda r: r.province),
        Column("city", _("City"), lambda r: r.city, sort="city"),
        Column("phone", _("Phone"), lambda r: r.phone, _phone),
        Column("email", _("Email"), lambda r: r.email),
        Column("owner", _("Owner"), _owner),
        Column("created_at", _("Created"), created_value, created_html, sort="created_at"),
        Column("updated_at", _("Updated"), updated_value, updated_html, sort="updated_at"),
    ],
    default_columns=["name", "kind", "industry", "city", "owner"],
    orderings={"name": "name_pinyin", "created_at": "created_at", "updated_at": "updated_at", "city": "city"},
    bulk_actions=_bulk_actions(services.update_account, services.delete_account, Account),
)

CONTACT_LIST = ListConfig(
    object_type=Contact.object_type,
    model=Contact,
    label=_("Contacts"),
    list_url_name="customers:contact-list",
    queryset=contacts_for,
    fields=[
        ListField("name", _("Name"), "text"),
        ListField("name_en", _("Latin name"), "text"),
        ListField("job_title", _("Job title"), "text"),
        ListField("department", _("Department"), "text"),
        ListField(
            "preferred_channel", _("Preferred channel"), "choice", choices=_choices(Contact.Channel.choices)
        ),
        ListField("birthday", _("Birthday"), "date", nullable=True),
        ListField("consent_email", _("Agrees to marketing email"), "bool"),
        ListField("consent_sms", _("Agrees to marketing SMS"), "bool"),
        ListField("consent_phone", _("Agrees to marketing calls"), "bool"),
        ListField("account.name", _("Account name"), "text", nullable=True),
        ListField("account.city", _("Account city"), "text", nullable=True),
        ListField("account.kind", _("Account kind"), "choice", choices=_choices(Account.Kind.choices)),
        ListField("account.status", _("Account status"), "choice", choices=_choices(Account.Status.choices)),
        *_common_fields(Contact),
    ],
    columns=[
        Column("name", _("Name"), lambda r: r.name, _link("contact"), sort="name_pinyin"),
        Column(
            "account",
            _("Account"),
            lambda r: r.account.name if r.account_id else "",
            lambda r, c: (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("customers:account-detail", args=[r.account_id]),
                    r.account.name,
                )
                if r.account_id
                else "—"
            ),
        ),
        Column("job_title", _("Job title"), lambda r: r.job_title, sort="job_title"),
        Column("department", _("Department"), lambda r: r.department),
        Column("email", _("Email"), lambda r: r.email, sort="email"),
        Column("phone", _("Phone"), lambda r: r.phone, _phone),
        Column("account_city", _("Account city"), lambda r: r.account.city if r.account_id else ""),
        Column("owner", _("Owner"), _owner),
        Column("created_at", _("Created"), created_value, created_html, sort="created_at"),
        Column("updated_at", _("Updated"), updated_value, updated_html, sort="updated_at"),
    ],
    default_columns=["name", "account", "job_title", "email", "phone", "owner"],
    orderings={
        "name": "name_pinyin",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "job_title": "job_title",
        "email": "email",
    },
    bulk_actions=_bulk_actions(services.update_contact, services.delete_contact, Contact),
)


def register_lists() -> None:
    register(ACCOUNT_LIST)
    register(CONTACT_LIST)


def register_search() -> None:
    """Accounts and contacts in the global search (name, pinyin, email, phone in any format)."""
    from urllib.parse import quote

    from kehu.listviews.search import SearchGroup, register_search

    register_search(
        SearchGroup(
            key="accounts",
            label=_("Accounts"),
            object_type=Account.object_type,
            search=lambda actor, q, limit: list(accounts_for(actor, q).order_by("name")[:limit]),
            url=lambda r: reverse("customers:account-detail", args=[r.pk]),
            title=lambda r: r.name,
            details=lambda r: [r.city],
            more_url=lambda q: reverse("customers:account-list") + "?q=" + quote(q),
            order=10,
        )
    )
    register_search(
        SearchGroup(
            key="contacts",
            label=_("Contacts"),
            object_type=Contact.object_type,
            search=lambda actor, q, limit: list(contacts_for(actor, q).order_by("name")[:limit]),
            url=lambda r: reverse("customers:contact-detail", args=[r.pk]),
            title=lambda r: r.name,
            details=lambda r: [r.account.name if r.account_id else "", r.email],
            more_url=lambda q: reverse("customers:contact-list") + "?q=" + quote(q),
            order=20,
        )
    )
