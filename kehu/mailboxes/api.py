"""REST endpoints: mailboxes (administrators) and the raw-MIME inbound webhook."""

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import DomainError, NotFound
from kehu.workspaces.access import access_record, require, require_manager

from . import services
from .apps import INBOUND_OBJECT_TYPE
from .models import InboundMail, Mailbox, OutboundMail
from .tasks import poll_mailboxes

router = Router(tags=["mail"])


class MailboxOut(Schema):
    id: int
    name: str
    address: str
    imap_host: str
    imap_port: int
    imap_ssl: bool
    imap_user: str
    has_password: bool = Field(..., description="The password itself is never returned")
    folder: str
    is_active: bool
    default_team_id: int | None
    default_category: str
    mailer: str = Field(..., description="The MAILERS alias replies are sent through")
    last_uid: int
    last_polled_at: datetime | None
    last_error: str
    created_at: datetime
    updated_at: datetime


class MailboxIn(InputSchema):
    name: str = Field(..., max_length=100)
    address: str = Field(..., max_length=254, description="The support address; replies are sent from it")
    imap_host: str = Field("", max_length=200, description="Empty: a send-only / webhook mailbox")
    imap_port: int = 993
    imap_ssl: bool = True
    imap_user: str = Field("", max_length=200, description="Defaults to the address")
    password: str = Field("", max_length=500, description="Write-only; empty keeps the stored one")
    folder: str = Field("INBOX", max_length=200)
    is_active: bool = True
    default_team_id: int | None = Field(
        None, description="Queue of new tickets when no routing rule sets one"
    )
    default_category: str = Field("", max_length=100)
    mailer: str = Field("default", max_length=50)


MailboxPatch = patch_schema(MailboxIn, "MailboxPatch")


class MessageOut(Schema):
    message: str


class InboundOut(Schema):
    outcome: str = Field(..., description="opened | added | duplicate | auto | rejected")
    message_id: str
    ticket_id: int | None
    ticket_number: int | None
    entry_id: int | None
    mailbox_id: int | None


def _values(payload: InputSchema, *, partial: bool) -> dict:
    values = payload.dict(exclude_unset=partial)
    if "default_team_id" in values:
        values["default_team"] = values.pop("default_team_id")
    return values


def _mailbox(request: HttpRequest, mailbox_id: int) -> Mailbox:
    require_manager(actor_of(request))
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound()
    return mailbox


@router.get("/mailboxes", response=list[MailboxOut], summary="The workspace's mailboxes (admins)")
@keyset(orderings=("created_at", "name"), default="name")
def list_mailboxes(request: HttpRequest):
    require_manager(actor_of(request))
    return Mailbox.objects.all()


@router.post("/mailboxes", response={201: MailboxOut}, summary="Add a mailbox (admins)")
def create_mailbox(request: HttpRequest, payload: MailboxIn):
    return Status(201, services.create_mailbox(actor_of(request), **_values(payload, partial=False)))


@router.get("/mailboxes/{mailbox_id}", response=MailboxOut, summary="One mailbox (admins)")
def get_mailbox(request: HttpRequest, mailbox_id: int):
    return _mailbox(request, mailbox_id)


@router.patch("/mailboxes/{mailbox_id}", response=MailboxOut, summary="Change a mailbox (admins)")
def update_mailbox(request: HttpRequest, mailbox_id: int, payload: MailboxPatch):
    mailbox = _mailbox(request, mailbox_id)
    return services.update_mailbox(actor_of(request), mailbox, **_values(payload, partial=True))


@router.delete("/mailboxes/{mailbox_id}", response={204: None}, summary="Delete a mailbox (admins)")
def delete_mailbox(request: HttpRequest, mailbox_id: int):
    services.delete_mailbox(actor_of(request), _mailbox(request, mailbox_id))
    return Status(204, None)


@router.post("/mailboxes/{mailbox_id}/test", response=MessageOut, summary="Log in and open the folder")
def test_mailbox(request: HttpRequest, mailbox_id: int):
    mailbox = _mailbox(request, mailbox_id)
    return {"message": services.test_connection(actor_of(request), mailbox)}


@router.post("/mailboxes/{mailbox_id}/poll", response={202: MessageOut}, summary="Fetch new mail now")
def poll_mailbox(request: HttpRequest, mailbox_id: int):
    mailbox = _mailbox(request, mailbox_id)
    poll_mailboxes.enqueue(mailbox.workspace_id, mailbox.pk)
    return Status(202, {"message": _("The mailbox will be checked for new mail in a moment.")})


class DeliveryOut(Schema):
    entry_id: int
    to: str
    message_id: str
    status: str = Field(..., description="queued | sent | retrying | failed")
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str


@router.get(
    "/tickets/{ticket_id}/deliveries",
    response=list[DeliveryOut],
    summary="The reply mails of a ticket and their delivery status",
)
def ticket_deliveries(request: HttpRequest, ticket_id: int):
    from kehu.tickets.models import Ticket

    ticket = access_record(actor_of(request), Ticket.objects.all(), ticket_id)
    return list(OutboundMail.objects.filter(entry__ticket=ticket).order_by("created_at", "pk")[:500])


class UnsupportedMedia(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("Send the mail as it was received, with Content-Type: message/rfc822."),
            "unsupported_media_type",
            415,
        )


RAW_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}


@router.post(
    "/mail/inbound",
    response={201: InboundOut, 200: InboundOut},
    summary="Take in one raw mail (message/rfc822) pushed by a mail provider",
    description="The body is the mail exactly as received. 201 when it opened a ticket or was added to "
    "one, 200 when it was a duplicate or an auto-reply/bounce (nothing created). The key's role needs "
    "the 'create' right on 'Inbound mail (webhook)' (administrators have it). The mailbox is found by "
    "the mail's To/Cc address, or given with ?mailbox_id=.",
)
def inbound_mail(request: HttpRequest, mailbox_id: int | None = None):
    actor = actor_of(request)
    require(actor, "create", INBOUND_OBJECT_TYPE)
    content_type = request.content_type or ""
    if content_type not in RAW_TYPES or not request.body:
        raise UnsupportedMedia()
    mailbox = None
    if mailbox_id is not None:
        mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
        if mailbox is None:
            raise NotFound()
    taken = services.ingest(actor.workspace, request.body, mailbox=mailbox)
    created = taken.outcome in (InboundMail.Outcome.OPENED, InboundMail.Outcome.ADDED)
    body = {
        "outcome": taken.outcome,
        "message_id": taken.message_id,
        "ticket_id": taken.ticket_id,
        "ticket_number": taken.ticket.number if taken.ticket_id else None,
        "entry_id": taken.entry_id,
        "mailbox_id": taken.mailbox_id,
    }
    return Status(201 if created else 200, body)
