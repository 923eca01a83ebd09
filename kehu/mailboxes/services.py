"""Mailboxes: their settings (audited, administrators only), taking mail in, sending replies out.

Inbound: ``poll`` (IMAP, per mailbox) and the webhook both end in ``ingest(raw)``, which parses the
mail and threads it: In-Reply-To/References against the ticket entries' Message-IDs, then a
``[#1234]`` in the subject (only from the ticket's own requester), else a new ticket. A Message-ID
already taken is a duplicate; auto-replies, bounces and bulk mail never open a ticket and never get
an answer, so two autoresponders cannot talk to each other through Kehu.

Outbound: a public reply (``entry_added``) gets a Message-ID and an ``OutboundMail`` row at once;
the SMTP conversation happens in a background job (``tasks.deliver_reply``), retried with back-off
on temporary failures, its status kept on the row.
"""

import hashlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import FieldError, ValidationFailed
from kehu.core.normalize import normalize_email
from kehu.workspaces.access import Actor, require_manager

from . import credentials, imap, parsing
from .models import InboundMail, Mailbox, OutboundMail

logger = logging.getLogger("kehu.mailboxes")

EDITABLE = (
    "name",
    "address",
    "imap_host",
    "imap_port",
    "imap_ssl",
    "imap_user",
    "folder",
    "is_active",
    "default_team",
    "default_category",
    "mailer",
)
# Where a folder's progress no longer applies: a change of any of these starts the UIDs over.
_FOLDER_IDENTITY = ("imap_host", "imap_port", "imap_user", "folder")
POLL_LIMIT = 200  # mails per mailbox and poll; the rest come at the next tick
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
LEASE = timedelta(minutes=10)  # a delivery claimed by a worker is not claimed again for this long


# --- settings ------------------------------------------------------------------------------------


def _clean(values: dict, instance: Mailbox | None = None) -> dict:
    """Validated field values; ``password`` (plain text) becomes the encrypted ``imap_password``."""
    from kehu.workspaces.models import Team

    errors: list[FieldError] = []
    unknown = set(values) - set(EDITABLE) - {"password"}
    if unknown:
        raise ValidationFailed([FieldError(name, _("Unknown field.")) for name in sorted(unknown)])
    cleaned = {k: v for k, v in values.items() if k in EDITABLE}
    for name in ("name", "address", "imap_host", "imap_user", "folder", "default_category", "mailer"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    if (instance is None or "name" in cleaned) and not cleaned.get("name"):
        errors.append(FieldError("name", _("This field is required."), "required"))
    if instance is None or "address" in cleaned:
        address = normalize_email(cleaned.get("address") or "")
        cleaned["address"] = address
        try:
            validate_email(address)
        except ValidationError:
            errors.append(FieldError("address", _("Enter a valid email address."), "invalid"))
        else:
            taken = Mailbox.objects.filter(address=address)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                errors.append(FieldError("address", _("Another mailbox already has this address."), "unique"))
    if "imap_port" in cleaned:
        try:
            port = int(cleaned["imap_port"])
        except (TypeError, ValueError):
            port = 0
        if not 1 <= port <= 65535:
            errors.append(FieldError("imap_port", _("Enter a port between 1 and 65535."), "invalid"))
        cleaned["imap_port"] = port
    if "folder" in cleaned and not cleaned["folder"]:
        cleaned["folder"] = "INBOX"
    if "mailer" in cleaned:
        cleaned["mailer"] = cleaned["mailer"] or "default"
        if cleaned["mailer"] not in getattr(settings, "MAILERS", {"default": {}}):
            errors.append(
                FieldError("mailer", _("No outgoing mail server of this name is configured."), "invalid")
            )
    if "default_team" in cleaned and cleaned["default_team"] is not None:
        team = cleaned["default_team"]
        team_id = team.pk if isinstance(team, Team) else team
        cleaned["default_team"] = (
            Team.objects.filter(pk=team_id).first() if isinstance(team_id, int) else None
        )
        if cleaned["default_team"] is None:
            errors.append(FieldError("default_team", _("Choose a team of this workspace."), "invalid"))
    for flag in ("imap_ssl", "is_active"):
        if flag in cleaned:
            cleaned[flag] = bool(cleaned[flag])
    password = values.get("password")
    if password:  # empty means "keep the stored one": forms never show it back
        cleaned["imap_password"] = credentials.encrypt(password)
    if errors:
        raise ValidationFailed(errors)
    if instance is not None and any(
        name in cleaned and cleaned[name] != getattr(instance, name) for name in _FOLDER_IDENTITY
    ):
        cleaned["uid_validity"], cleaned["last_uid"] = None, 0
    return cleaned


def create_mailbox(actor: Actor, **values) -> Mailbox:
    require_manager(actor)
    cleaned = _clean(values)
    with transaction.atomic():
        return create_record(actor, Mailbox(**cleaned))


def update_mailbox(actor: Actor, mailbox: Mailbox, **values) -> Mailbox:
    require_manager(actor)
    cleaned = _clean(values, mailbox)
    with transaction.atomic():
        update_record(actor, mailbox, cleaned)
    return mailbox


def delete_mailbox(actor: Actor, mailbox: Mailbox) -> None:
    require_manager(actor)
    with transaction.atomic():
        delete_record(actor, mailbox)


def test_connection(actor: Actor, mailbox: Mailbox) -> str:
    """Log in and open the folder; a message saying how it went (``ValidationFailed`` on failure)."""
    require_manager(actor)
    if not mailbox.imap_host:
        raise ValidationFailed([FieldError("imap_host", _("Enter the IMAP server first."), "required")])
    try:
        _validity, count = imap.check(mailbox)
    except imap.ImapError as exc:
        raise ValidationFailed([], _("The connection failed: %(error)s") % {"error": exc}) from None
    return _("Connected: the folder %(folder)s holds %(count)s messages.") % {
        "folder": mailbox.folder,
        "count": count,
    }


# --- inbound -------------------------------------------------------------------------------------


def _recorded(workspace, mail: parsing.ParsedMail, mailbox, outcome, *, ticket=None, entry=None, note=""):
    return InboundMail.objects.create(
        workspace=workspace,
        mailbox=mailbox,
        message_id=mail.message_id,
        sender=mail.sender_email[:254],
        subject=mail.subject[:300],
        outcome=outcome,
        ticket=ticket,
        entry=entry,
        note=note[:300],
    )


def _is_duplicate(workspace, message_id: str) -> bool:
    from kehu.tickets.models import TicketEntry

    return (
        TicketEntry.objects.filter(workspace=workspace, message_id=message_id).exists()
        or InboundMail.objects.filter(
            workspace=workspace,
            message_id=message_id,
            outcome__in=[InboundMail.Outcome.OPENED, InboundMail.Outcome.ADDED],
        ).exists()
    )


def _sender_belongs_to(ticket, sender: str) -> bool:
    """May this address add to the ticket by quoting its number? Its requester or contact only."""
    from kehu.customers.models import ContactPoint

    if not sender:
        return False
    if normalize_email(ticket.requester_email or "") == sender:
        return True
    if ticket.contact_id is None:
        return False
    return ContactPoint.objects.filter(contact_id=ticket.contact_id, value=sender).exists() or (
        normalize_email(ticket.contact.email or "") == sender
    )


def _thread(workspace, mail: parsing.ParsedMail):
    """The ticket this mail continues, or None for a new one."""
    from kehu.tickets.services import find_ticket_for_mail

    # The headers first (one query): a match there threads whoever sent it.
    ticket = find_ticket_for_mail(
        workspace, subject="", in_reply_to=mail.in_reply_to, references=mail.references
    )
    if ticket is not None:
        return ticket
    ticket = find_ticket_for_mail(workspace, subject=mail.subject)
    # A number in a subject is easy to guess: only the ticket's own requester may thread with it.
    return ticket if ticket is not None and _sender_belongs_to(ticket, mail.sender_email) else None


def ingest(workspace, raw: bytes, *, mailbox: Mailbox | None = None) -> InboundMail:
    """Take one raw mail in: a new ticket, an entry on its ticket, or ignored (logged either way)."""
    from kehu.tickets import services as tickets

    with translation.override(workspace.default_language), scope(workspace=workspace):
        mail = parsing.parse(raw)
        if mailbox is None:
            mailbox = Mailbox.objects.filter(address__in=mail.to).order_by("pk").first()
        with transaction.atomic():
            if _is_duplicate(workspace, mail.message_id):
                return _recorded(workspace, mail, mailbox, InboundMail.Outcome.DUPLICATE)
            if Mailbox.objects.filter(address=mail.sender_email).exists():
                return _recorded(workspace, mail, mailbox, InboundMail.Outcome.AUTO, note="sent by a mailbox")
            if mail.is_auto:
                return _recorded(workspace, mail, mailbox, InboundMail.Outcome.AUTO, note=mail.auto_reason)
            actor = tickets.system_actor(workspace, "mail")
            mail.body = mail.body[: tickets.MAX_BODY]  # a pasted log must not cost the customer's mail
            attachments = [a.as_dict() for a in mail.attachments]
            ticket = _thread(workspace, mail)
            if ticket is not None:
                entry = tickets.add_customer_message(
                    actor,
                    ticket,
                    body=mail.body or _("(empty message)"),
                    sender_email=mail.sender_email,
                    sender_name=mail.sender_name,
                    message_id=mail.message_id,
                    in_reply_to=mail.in_reply_to,
                    attachments=attachments,
                    body_html=mail.body_html,
                )
                return _recorded(
                    workspace, mail, mailbox, InboundMail.Outcome.ADDED, ticket=ticket, entry=entry
                )
            ticket = tickets.open_ticket(
                actor,
                subject=mail.subject or _("(no subject)"),
                description=mail.body,
                channel="email",
                sender_email=mail.sender_email,
                sender_name=mail.sender_name,
                category=mailbox.default_category if mailbox is not None else "",
                message_id=mail.message_id,
                attachments=attachments,
            )
            if ticket.team_id is None and mailbox is not None and mailbox.default_team_id:
                # Routing rules come first; the mailbox's queue is the fallback.
                tickets.assign(actor, ticket, user=ticket.owner_id, team=mailbox.default_team_id)
            return _recorded(workspace, mail, mailbox, InboundMail.Outcome.OPENED, ticket=ticket)


def _rejected(workspace, raw: bytes, mailbox: Mailbox, note: str) -> None:
    """Log a mail that could not be taken in (its headers if they can be read at all)."""
    try:
        mail = parsing.parse(raw)
    except Exception:
        mail = parsing.ParsedMail(
            message_id=f"{hashlib.sha256(raw).hexdigest()[:40]}@unreadable.kehu",
            subject="",
            sender_email="",
            sender_name="",
            to=[],
            in_reply_to="",
            references=[],
            body="",
        )
    with scope(workspace=workspace):
        _recorded(workspace, mail, mailbox, InboundMail.Outcome.REJECTED, note=note)


@dataclass
class PollResult:
    fetched: int = 0
    opened: int = 0
    added: int = 0
    ignored: int = 0
    error: str = ""
    skipped: bool = False  # another poll of this mailbox was running


def poll(mailbox: Mailbox, *, limit: int = POLL_LIMIT) -> PollResult:
    """Fetch the mailbox's new mail and take each in; progress is saved after every mail."""
    result = PollResult()
    lock = f"kehu:mailbox-poll:{mailbox.pk}"
    if not cache.add(lock, 1, timeout=600):
        result.skipped = True
        return result
    workspace = mailbox.workspace
    try:
        with imap.Session(mailbox) as session:
            renumbered = mailbox.uid_validity != session.uid_validity
            since = (mailbox.last_polled_at or mailbox.created_at) if renumbered else None
            last_uid = 0 if renumbered else mailbox.last_uid
            uids = imap.new_uids(session.conn, last_uid=last_uid, since=since)[:limit]
            if renumbered:
                Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=session.uid_validity, last_uid=0)
                mailbox.uid_validity, mailbox.last_uid = session.uid_validity, 0
            for uid, raw in imap.fetch(session.conn, uids):
                result.fetched += 1
                try:
                    taken = ingest(workspace, raw, mailbox=mailbox)
                except Exception as exc:  # one bad mail must not stop the mailbox for good
                    logger.exception("mailbox %s: mail UID %s could not be taken in", mailbox.pk, uid)
                    _rejected(workspace, raw, mailbox, f"UID {uid}: {type(exc).__name__}: {exc}")
                    result.ignored += 1
                else:
                    if taken.outcome == InboundMail.Outcome.OPENED:
                        result.opened += 1
                    elif taken.outcome == InboundMail.Outcome.ADDED:
                        result.added += 1
                    else:
                        result.ignored += 1
                Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)
                mailbox.last_uid = uid
    except imap.ImapError as exc:
        result.error = str(exc)
        logger.warning("mailbox %s: %s", mailbox.pk, exc)
    finally:
        cache.delete(lock)
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=result.error[:2000])
    mailbox.last_polled_at, mailbox.last_error = now, result.error
    return result


def pollable():
    """The mailboxes the scheduler polls (active, with an IMAP server)."""
    return Mailbox.objects.filter(is_active=True).exclude(imap_host="")


# --- outbound ------------------------------------------------------------------------------------


def mailbox_for(ticket) -> Mailbox | None:
    """The mailbox the ticket's mail last came through, else the workspace's first active one."""
    last = (
        InboundMail.objects.filter(workspace_id=ticket.workspace_id, ticket=ticket, mailbox__isnull=False)
        .select_related("mailbox")
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is not None and last.mailbox.is_active:
        return last.mailbox
    return Mailbox.objects.filter(workspace_id=ticket.workspace_id, is_active=True).order_by("pk").first()


def queue_reply(entry) -> OutboundMail | None:
    """A public reply's mail, queued (the sending is a background job). Internal notes never leave."""
    from kehu.tickets.models import TicketEntry
    from kehu.tickets.services import reply_recipient, set_entry_message_id

    from .tasks import deliver_reply

    if entry.kind != TicketEntry.Kind.REPLY:
        return None
    with scopes_disabled():
        ticket = entry.ticket
        to = reply_recipient(ticket)
        mailbox = mailbox_for(ticket) if to else None
        if mailbox is None or OutboundMail.objects.filter(entry=entry).exists():
            return None
        message_id = make_msgid(domain=mailbox.address.rsplit("@", 1)[-1])[1:-1]
        with transaction.atomic():
            set_entry_message_id(entry, message_id)
            outbound = OutboundMail.objects.create(
                workspace_id=entry.workspace_id,
                entry=entry,
                mailbox=mailbox,
                to=to,
                message_id=message_id,
                next_attempt_at=timezone.now(),
            )
            workspace_id, outbound_id = entry.workspace_id, outbound.pk
            transaction.on_commit(lambda: deliver_reply.enqueue(workspace_id, outbound_id))
    return outbound


def reply_subject(ticket) -> str:
    subject = ticket.subject.strip()
    reference = ticket.reference
    subject = subject.replace(reference, "").strip()
    if not subject.lower().startswith(("re:", "回复:", "回复：")):
        subject = f"Re: {subject}"
    return f"{subject} {reference}"


def _thread_headers(entry) -> dict[str, str]:
    """In-Reply-To (the customer's last message before this reply) and References (the thread)."""
    from kehu.tickets.models import TicketEntry

    earlier = list(
        TicketEntry.objects.filter(workspace_id=entry.workspace_id, ticket_id=entry.ticket_id)
        .exclude(message_id="")
        .exclude(kind=TicketEntry.Kind.NOTE)
        .filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk))
        .order_by("created_at", "pk")
        .values_list("kind", "message_id")
    )
    customer = [mid for kind, mid in earlier if kind == TicketEntry.Kind.CUSTOMER]
    headers = {}
    if customer:
        headers["In-Reply-To"] = f"<{customer[-1]}>"
    if earlier:
        headers["References"] = " ".join(f"<{mid}>" for _kind, mid in earlier[-10:])
    return headers


def build_message(outbound: OutboundMail) -> EmailMessage:
    entry = outbound.entry
    ticket = entry.ticket
    mailbox = outbound.mailbox
    headers = {
        "Message-ID": f"<{outbound.message_id}>",
        "X-Kehu-Ticket": str(ticket.number),
        **_thread_headers(entry),
    }
    message = EmailMessage(
        subject=reply_subject(ticket),
        body=entry.body,
        from_email=formataddr((mailbox.name, mailbox.address)) if mailbox else settings.DEFAULT_FROM_EMAIL,
        to=[outbound.to],
        reply_to=[mailbox.address] if mailbox else None,
        headers=headers,
    )
    for attachment in entry.attachments.all():
        with attachment.file.open("rb") as handle:
            message.attach(attachment.name, handle.read(), attachment.content_type or None)
    return message


def _permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown recipient, refused): trying again would not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def deliver(outbound_id: int) -> str:
    """Send one queued reply (claimed first, so two workers never both send it); its new status."""
    now = timezone.now()
    claimed = OutboundMail.objects.filter(
        pk=outbound_id,
        status__in=[OutboundMail.Status.QUEUED, OutboundMail.Status.RETRYING],
        next_attempt_at__lte=now,
    ).update(next_attempt_at=now + LEASE)
    outbound = OutboundMail.objects.select_related("entry__ticket", "mailbox").get(pk=outbound_id)
    if not claimed:
        return outbound.status
    attempts = outbound.attempts + 1
    try:
        message = build_message(outbound)
        message.send(using=outbound.mailbox.mailer if outbound.mailbox else "default")
    except (smtplib.SMTPException, OSError) as exc:
        final = _permanent(exc) or attempts > len(RETRY_DELAYS)
        status = OutboundMail.Status.FAILED if final else OutboundMail.Status.RETRYING
        OutboundMail.objects.filter(pk=outbound_id).update(
            status=status,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=None if final else now + RETRY_DELAYS[attempts - 1],
        )
        logger.warning("reply mail %s: attempt %s failed: %s", outbound_id, attempts, exc)
        return status
    OutboundMail.objects.filter(pk=outbound_id).update(
        status=OutboundMail.Status.SENT,
        attempts=attempts,
        sent_at=timezone.now(),
        last_error="",
        next_attempt_at=None,
    )
    return OutboundMail.Status.SENT


def due_deliveries():
    """(workspace id, delivery id) of replies waiting to be (re)tried now, all workspaces."""
    with scopes_disabled():
        return list(
            OutboundMail.objects.filter(
                status__in=[OutboundMail.Status.QUEUED, OutboundMail.Status.RETRYING],
                next_attempt_at__lte=timezone.now(),
            ).values_list("workspace_id", "pk")[:500]
        )
