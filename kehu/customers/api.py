"""REST endpoints for accounts and contacts (thin: schema → services / queries → schema)."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset
from kehu.workspaces.access import access_record

from . import services
from .models import Account, Contact
from .panels import panel_data
from .queries import accounts_for, contacts_for

router = Router(tags=["customers"])


class AccountOut(Schema):
    id: int
    name: str
    kind: str
    industry: str
    website: str
    phone: str = Field(..., description="E.164")
    email: str
    city: str
    description: str
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class AccountIn(InputSchema):
    name: str = Field(..., max_length=200)
    kind: str = Field("company", description="company | individual")
    industry: str = Field("", max_length=100)
    website: str = Field("", max_length=200)
    phone: str = Field("", max_length=40, description="Any format; stored as E.164")
    email: str = Field("", max_length=254)
    city: str = Field("", max_length=100)
    description: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None


class AccountPatch(InputSchema):
    name: str | None = Field(None, max_length=200)
    kind: str | None = None
    industry: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    city: str | None = Field(None, max_length=100)
    description: str | None = None
    owner_id: int | None = None
    team_id: int | None = None


class AccountFilters(Schema):
    q: str = Field("", description="Name contains, email equals, or phone contains (digits)")
    kind: str | None = None
    owner_id: int | None = None


class ContactOut(Schema):
    id: int
    name: str
    account_id: int | None
    job_title: str
    email: str
    phone: str = Field(..., description="E.164")
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class ContactIn(InputSchema):
    name: str = Field(..., max_length=200)
    account_id: int | None = None
    job_title: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40, description="Any format; stored as E.164")
    owner_id: int | None = Field(None, description="Defaults to the caller")
    team_id: int | None = None


class ContactPatch(InputSchema):
    name: str | None = Field(None, max_length=200)
    account_id: int | None = None
    job_title: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    owner_id: int | None = None
    team_id: int | None = None


class ContactFilters(Schema):
    q: str = Field("", description="Name contains, email equals, or phone contains (digits)")
    account_id: int | None = None
    owner_id: int | None = None


def _filter(qs, filters: Schema, exclude: tuple[str, ...] = ("q",)):
    values = {k: v for k, v in filters.dict().items() if k not in exclude and v is not None}
    return qs.filter(**values)


@router.get("/accounts", response=list[AccountOut], summary="Accounts the caller may see")
@keyset(orderings=("created_at", "name", "updated_at"), default="-created_at")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]):
    return _filter(accounts_for(actor_of(request), filters.q), filters)


@router.post("/accounts", response={201: AccountOut}, summary="Create an account")
def create_account(request: HttpRequest, payload: AccountIn):
    return Status(201, services.create_account(actor_of(request), **payload.dict()))


@router.get("/accounts/{account_id}", response=AccountOut, summary="One account")
def get_account(request: HttpRequest, account_id: int):
    return access_record(actor_of(request), Account.objects.all(), account_id)


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


@router.patch("/accounts/{account_id}", response=AccountOut, summary="Change an account")
def update_account(request: HttpRequest, account_id: int, payload: AccountPatch):
    actor = actor_of(request)
    account = access_record(actor, Account.objects.all(), account_id, "change")
    return services.update_account(actor, account, **payload.dict(exclude_unset=True))


@router.delete("/accounts/{account_id}", response={204: None}, summary="Delete an account")
def delete_account(request: HttpRequest, account_id: int):
    actor = actor_of(request)
    services.delete_account(actor, access_record(actor, Account.objects.all(), account_id, "delete"))
    return Status(204, None)


@router.get("/contacts", response=list[ContactOut], summary="Contacts the caller may see")
@keyset(orderings=("created_at", "name", "updated_at"), default="-created_at")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]):
    return _filter(contacts_for(actor_of(request), filters.q), filters)


@router.post("/contacts", response={201: ContactOut}, summary="Create a contact")
def create_contact(request: HttpRequest, payload: ContactIn):
    return Status(201, services.create_contact(actor_of(request), **payload.dict()))


@router.get("/contacts/{contact_id}", response=ContactOut, summary="One contact")
def get_contact(request: HttpRequest, contact_id: int):
    return access_record(actor_of(request), Contact.objects.all(), contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut, summary="Change a contact")
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch):
    actor = actor_of(request)
    contact = access_record(actor, Contact.objects.all(), contact_id, "change")
    return services.update_contact(actor, contact, **payload.dict(exclude_unset=True))


@router.delete("/contacts/{contact_id}", response={204: None}, summary="Delete a contact")
def delete_contact(request: HttpRequest, contact_id: int):
    actor = actor_of(request)
    services.delete_contact(actor, access_record(actor, Contact.objects.all(), contact_id, "delete"))
    return Status(204, None)
