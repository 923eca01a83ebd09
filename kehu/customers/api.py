"""REST endpoints for accounts and contacts (thin: schema → services / queries → schema)."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.customfields.api import custom_field, custom_resolver
from kehu.customfields.queries import apply_params as apply_custom_filters
from kehu.listviews.api import apply_api_filters
from kehu.workspaces.access import access_record

from . import services
from .models import Account, Contact
from .panels import panel_data
from .queries import accounts_for, contacts_for

router = Router(tags=["customers"])
LIFECYCLE_STAGES = tuple(Account.Lifecycle.values)


class ContactPointIO(Schema):
    value: str = Field(..., max_length=254, description="Phone in any format (stored as E.164) or email")
    label: str = Field("work", description="work | mobile | home | fax | other")
    is_primary: bool = False


class AddressIn(InputSchema):
    id: int | None = Field(
        None, description="An existing address of this record, changed in place; leave out for a new one"
    )
    kind: str = Field("office", description="office | billing | shipping | home | other")
    country: str = Field("", max_length=2, description="ISO 3166 code, e.g. CN")
    province: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    district: str = Field("", max_length=100)
    street: str = Field("", max_length=300)
    postcode: str = Field("", max_length=20, description="Checked against the country's shape (CN: 6 digits)")
    is_primary: bool = False


class AddressOut(AddressIn):
    id: int  # type: ignore[assignment]


class RelationIn(Schema):
    account_id: int
    role: str = Field(
        "user",
        description="decision_maker | influencer | champion | user | purchasing | "
        "technical | finance | other",
    )
    is_primary: bool = False


class RelationOut(RelationIn):
    account_name: str


class AccountOut(Schema):
    id: int
    name: str
    name_en: str
    name_pinyin: str
    kind: str
    industry: str
    size: str
    source: str
    status: str
    parent_id: int | None
    website: str
    phone: str = Field(..., description="The primary phone, E.164")
    email: str = Field(..., description="The primary email")
    country: str
    province: str
    city: str
    district: str
    street: str
    postcode: str
    description: str
    owner_id: int | None
    team_id: int | None
    grade: str = Field(
        ...,
        description="The tier key (e.g. strategic | important | ordinary; the workspace's tiers), "
        "computed by customer analytics; empty until graded. Read-only",
    )
    lifecycle_stage: str = Field(
        ...,
        description="prospect | new | active | at_risk | churned | won_back, or empty until computed. "
        "Read-only here: set or clear it by hand with PUT/DELETE /analytics/accounts/{id}/lifecycle",
    )
    created_at: datetime
    updated_at: datetime
    custom: dict = custom_field()

    resolve_custom = custom_resolver("customers.account")


class AccountDetailOut(AccountOut):
    phones: list[ContactPointIO]
    emails: list[ContactPointIO]
    addresses: list[AddressOut] = Field(
        ..., description="The primary first; its fields are the account's own"
    )
    tags: list[str]
    possible_duplicates: list[dict] = Field(
        default_factory=list, description="After a create or change: likely duplicates (score, fields)"
    )


class AccountIn(InputSchema):
    name: str = Field(..., max_length=200)
    name_en: str = Field("", max_length=200)
    kind: str = Field("company", description="company | individual")
    industry: str = Field("", max_length=100)
    size: str = Field("", description="1-9 | 10-49 | 50-249 | 250-999 | 1000+")
    source: str = Field("", max_length=100)
    status: str = Field("active", description="prospect | active | inactive")
    parent_id: int | None = None
    website: str = Field("", max_length=200)
    phone: str = Field("", max_length=40, description="The primary phone, any format; stored as E.164")
    email: str = Field("", max_length=254, description="The primary email")
    phones: list[ContactPointIO] | None = Field(None, description="Every phone; replaces the current list")
    emails: list[ContactPointIO] | None = Field(None, description="Every email; replaces the current list")
    country: str = Field("", max_length=2, description="ISO 3166 code; the primary address")
    province: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    district: str = Field("", max_length=100)
    street: str = Field("", max_length=300)
    postcode: str = Field("", max_length=20)
    addresses: list[AddressIn] | None = Field(
        None,
        description="Every address; replaces the current list (items with an id keep that address). "
        "The primary one is mirrored in country … postcode.",
    )
    description: str = ""
    tags: list[str] | None = Field(None, description="Tag names; replaces the current tags")
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None
    custom: dict | None = custom_field(input=True)


AccountPatch = patch_schema(AccountIn, "AccountPatch")


class AccountFilters(Schema):
    q: str = Field("", description="Name (also pinyin) contains, email equals, or phone contains (digits)")
    kind: str | None = None
    status: str | None = None
    city: str | None = None
    owner_id: int | None = None
    parent_id: int | None = None
    grade: str | None = Field(None, description="A tier key; empty string: not graded")
    lifecycle_stage: Literal["", *LIFECYCLE_STAGES] | None = Field(  # type: ignore[valid-type]
        None, description="A lifecycle stage; empty string: not computed yet"
    )


class ContactOut(Schema):
    id: int
    name: str
    name_en: str
    account_id: int | None = Field(..., description="The primary account")
    job_title: str
    department: str
    email: str = Field(..., description="The primary email")
    phone: str = Field(..., description="The primary phone, E.164")
    preferred_channel: str
    preferred_language: str
    birthday: date | None
    social: dict[str, str]
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    consent_updated_at: datetime | None
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime
    custom: dict = custom_field()

    resolve_custom = custom_resolver("customers.contact")


class ContactDetailOut(ContactOut):
    phones: list[ContactPointIO]
    emails: list[ContactPointIO]
    addresses: list[AddressOut]
    accounts: list[RelationOut]
    tags: list[str]
    possible_duplicates: list[dict] = Field(
        default_factory=list, description="After a create or change: likely duplicates (score, fields)"
    )


class ContactIn(InputSchema):
    name: str = Field(..., max_length=200)
    name_en: str = Field("", max_length=200)
    account_id: int | None = Field(None, description="The primary account (or give `accounts`)")
    accounts: list[RelationIn] | None = Field(None, description="Every account relation; replaces them")
    job_title: str = Field("", max_length=100)
    department: str = Field("", max_length=100)
    email: str = Field("", max_length=254, description="The primary email")
    phone: str = Field("", max_length=40, description="The primary phone, any format; stored as E.164")
    phones: list[ContactPointIO] | None = None
    emails: list[ContactPointIO] | None = None
    addresses: list[AddressIn] | None = Field(
        None, description="Every address; replaces the current list (items with an id keep that address)"
    )
    preferred_channel: str = Field("", description="email | phone | sms | wechat | visit")
    preferred_language: str = Field("", max_length=10)
    birthday: date | None = None
    social: dict[str, str] = Field(default_factory=dict, description='e.g. {"wechat": "zhangwei88"}')
    consent_email: bool = False
    consent_sms: bool = False
    consent_phone: bool = False
    tags: list[str] | None = None
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None
    custom: dict | None = custom_field(input=True)


ContactPatch = patch_schema(ContactIn, "ContactPatch")


class ContactFilters(Schema):
    q: str = Field("", description="Name (also pinyin) contains, email equals, or phone contains (digits)")
    account_id: int | None = None
    owner_id: int | None = None


def _account_detail(account: Account) -> dict:
    return {
        **AccountOut.from_orm(account).dict(),
        **services.contact_points(account),
        "addresses": services.addresses_of(account),
        "tags": services.tags_of(account),
        "possible_duplicates": getattr(account, "possible_duplicates", []),
    }


def _contact_detail(contact: Contact) -> dict:
    return {
        **ContactOut.from_orm(contact).dict(),
        **services.contact_points(contact),
        "addresses": services.addresses_of(contact),
        "accounts": services.relations_of(contact),
        "tags": services.tags_of(contact),
        "possible_duplicates": getattr(contact, "possible_duplicates", []),
    }


def _filter(qs, filters: Schema, exclude: tuple[str, ...] = ("q",)):
    values = {k: v for k, v in filters.dict().items() if k not in exclude and v is not None}
    return qs.filter(**values)


@router.get("/accounts", response=list[AccountOut], summary="Accounts the caller may see")
@keyset(orderings=("created_at", "name", "updated_at"), default="-created_at")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]):
    """Also filters on custom fields: ``?custom.<key>=v``, ``?custom.<key>__gte=v`` (lt, lte, gt, ne,
    contains, in, isnull), and by ``?filters=<JSON filter spec>`` (AND/OR groups, docs/lists.md)."""
    actor = actor_of(request)
    records = apply_custom_filters(actor, _filter(accounts_for(actor, filters.q), filters), request.GET)
    return apply_api_filters(actor, records, request)


@router.post("/accounts", response={201: AccountDetailOut}, summary="Create an account")
def create_account(request: HttpRequest, payload: AccountIn):
    return Status(201, _account_detail(services.create_account(actor_of(request), **payload.dict())))


class BulkDuplicates(Schema):
    index: int = Field(..., description="The position of the item in ``items``")
    matches: list[dict] = Field(..., description="Its likely duplicates (score, fields), as single creates")


class BulkOut(Schema):
    count: int
    ids: list[int] = Field(..., description="The new records' ids, in the order of the items sent")
    possible_duplicates: list[BulkDuplicates] = Field(
        default_factory=list, description="Only the items with likely duplicates among existing records"
    )


def _bulk_out(records) -> dict:
    return {
        "count": len(records),
        "ids": [r.pk for r in records],
        "possible_duplicates": [
            {"index": i, "matches": r.possible_duplicates}
            for i, r in enumerate(records)
            if getattr(r, "possible_duplicates", None)
        ],
    }


class AccountBulkIn(InputSchema):
    items: list[AccountIn] = Field(..., min_length=1, max_length=services.MAX_BULK)


@router.post("/accounts/bulk", response={201: BulkOut}, summary="Create up to 1,000 accounts at once")
def bulk_create_accounts(request: HttpRequest, payload: AccountBulkIn):
    """All or nothing: when any item is invalid nothing is saved and every error is listed as
    ``items.<i>.<field>``."""
    records = services.bulk_create_accounts(actor_of(request), [item.dict() for item in payload.items])
    return Status(201, _bulk_out(records))


class BulkChanged(Schema):
    count: int
    ids: list[int] = Field(..., description="The changed records' ids, in the order of the items sent")


AccountChange = patch_schema(AccountIn, "AccountChange", required_id=True)


class AccountBulkPatch(InputSchema):
    items: list[AccountChange] = Field(..., min_length=1, max_length=services.MAX_BULK)  # type: ignore[valid-type]


@router.patch("/accounts/bulk", response=BulkChanged, summary="Change up to 1,000 accounts at once")
def bulk_update_accounts(request: HttpRequest, payload: AccountBulkPatch):
    """Each item is ``{"id": …}`` plus the fields to change. All or nothing: when any item is invalid
    (or names an account the caller may not change) nothing is saved and every error is listed as
    ``items.<i>.<field>``."""
    items = [item.dict(exclude_unset=True) for item in payload.items]
    records = services.bulk_update_accounts(actor_of(request), items)
    return {"count": len(records), "ids": [r.pk for r in records]}


@router.get("/accounts/{account_id}", response=AccountDetailOut, summary="One account")
def get_account(request: HttpRequest, account_id: int):
    return _account_detail(access_record(actor_of(request), Account.objects.all(), account_id))


class Account360Out(Schema):
    account: AccountOut
    contacts: list[ContactOut] = Field(..., description="Up to 100 contacts of the account, by name")
    panels: dict[str, dict] = Field(
        ..., description="Data of every 360° panel (timeline, purchases, tickets, scores …), by panel key"
    )


@router.get("/accounts/{account_id}/360", response=Account360Out, summary="The 360° view of an account")
def account_360(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id)
    contacts = contacts_for(actor, account=account).order_by("name")[:100]
    return {"account": account, "contacts": list(contacts), "panels": panel_data(actor, account)}


@router.patch("/accounts/{account_id}", response=AccountDetailOut, summary="Change an account")
def update_account(request: HttpRequest, account_id: int, payload: AccountPatch):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id, "change")
    return _account_detail(services.update_account(actor, account, **payload.dict(exclude_unset=True)))


@router.delete("/accounts/{account_id}", response={204: None}, summary="Delete an account")
def delete_account(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    services.delete_account(actor, access_record(actor, Account.objects.all(), account_id, "delete"))
    return Status(204, None)


@router.get("/contacts", response=list[ContactOut], summary="Contacts the caller may see")
@keyset(orderings=("created_at", "name", "updated_at"), default="-created_at")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]):
    """Also filters on custom fields: ``?custom.<key>=v``, ``?custom.<key>__gte=v`` (lt, lte, gt, ne,
    contains, in, isnull), and by ``?filters=<JSON filter spec>`` (AND/OR groups, docs/lists.md)."""
    actor = actor_of(request)
    records = apply_custom_filters(actor, _filter(contacts_for(actor, filters.q), filters), request.GET)
    return apply_api_filters(actor, records, request)


@router.post("/contacts", response={201: ContactDetailOut}, summary="Create a contact")
def create_contact(request: HttpRequest, payload: ContactIn):
    return Status(201, _contact_detail(services.create_contact(actor_of(request), **payload.dict())))


class ContactBulkIn(InputSchema):
    items: list[ContactIn] = Field(..., min_length=1, max_length=services.MAX_BULK)


@router.post("/contacts/bulk", response={201: BulkOut}, summary="Create up to 1,000 contacts at once")
def bulk_create_contacts(request: HttpRequest, payload: ContactBulkIn):
    """All or nothing: when any item is invalid nothing is saved and every error is listed as
    ``items.<i>.<field>``."""
    records = services.bulk_create_contacts(actor_of(request), [item.dict() for item in payload.items])
    return Status(201, _bulk_out(records))


ContactChange = patch_schema(ContactIn, "ContactChange", required_id=True)


class ContactBulkPatch(InputSchema):
    items: list[ContactChange] = Field(..., min_length=1, max_length=services.MAX_BULK)  # type: ignore[valid-type]


@router.patch("/contacts/bulk", response=BulkChanged, summary="Change up to 1,000 contacts at once")
def bulk_update_contacts(request: HttpRequest, payload: ContactBulkPatch):
    """As ``PATCH /accounts/bulk``, for contacts."""
    items = [item.dict(exclude_unset=True) for item in payload.items]
    records = services.bulk_update_contacts(actor_of(request), items)
    return {"count": len(records), "ids": [r.pk for r in records]}


@router.get("/contacts/{contact_id}", response=ContactDetailOut, summary="One contact")
def get_contact(request: HttpRequest, contact_id: int):
    return _contact_detail(access_record(actor_of(request), Contact.objects.all(), contact_id))


@router.patch("/contacts/{contact_id}", response=ContactDetailOut, summary="Change a contact")
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch):
    actor = actor_of(request)
    contact = access_record(actor, Contact.objects.all(), contact_id, "change")
    return _contact_detail(services.update_contact(actor, contact, **payload.dict(exclude_unset=True)))


@router.delete("/contacts/{contact_id}", response={204: None}, summary="Delete a contact")
def delete_contact(request: HttpRequest, contact_id: int):
    actor = actor_of(request)
    services.delete_contact(actor, access_record(actor, Contact.objects.all(), contact_id, "delete"))
    return Status(204, None)
