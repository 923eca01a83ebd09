"""Writes on tickets — the only write path for the UI, the API, mail, the bot and the public form.

Every function takes an ``Actor``; mail, the bot, the public form and scheduled jobs act through
``system_actor(workspace)``. Every conversation entry is also logged on the customer's timeline
(``kehu.activities``), linked to the ticket, the contact and the account, so the 360° view shows the
service history next to sales. Signals go out after commit (``signals.py``).
"""

import mimetypes
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from kehu.activities.models import Activity
from kehu.activities.services import notify, record_system_activity
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.core.models import OwnedRecord
from kehu.core.normalize import normalize_email
from kehu.customers.models import Account, Contact, ContactPoint
from kehu.customers.services import set_tags, tags_of
from kehu.customfields.services import clean_custom_values
from kehu.workspaces.access import Actor, require, require_manager, visible
from kehu.workspaces.models import Membership, Team
from kehu.workspaces.permissions import ACTIONS, Grant

from . import sla
from .models import (
    RoutingRule,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketCounter,
    TicketEntry,
)
from .signals import entry_added, send_after_commit, status_changed, ticket_opened

S = Ticket.Status
OPEN_STATUSES = (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.REOPENED)
PAUSED_STATUSES = (S.PENDING, S.ON_HOLD)
FINISHED_STATUSES = (S.RESOLVED, S.CLOSED)
# Allowed status changes (a customer message also reopens a resolved or closed ticket).
TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.OPEN, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED},
    S.OPEN: {S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED},
    S.PENDING: {S.OPEN, S.ON_HOLD, S.RESOLVED, S.CLOSED},
    S.ON_HOLD: {S.OPEN, S.PENDING, S.RESOLVED, S.CLOSED},
    S.REOPENED: {S.OPEN, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED},
    S.RESOLVED: {S.CLOSED, S.REOPENED},
    S.CLOSED: {S.REOPENED},
}
MAX_TAGS = 20
MAX_BODY = 100_000
SUBJECT_REF = re.compile(r"\[#(\d{1,9})\]")
# Fields ``update_ticket`` (and the extra keywords of ``open_ticket``) accept.
EDITABLE = {
    "subject",
    "description",
    "type",
    "category",
    "priority",
    "language",
    "account_id",
    "contact_id",
    "order_id",
    "product_id",
    "opportunity_id",
    "satisfaction",
    "severity",
    "root_cause",
    "compensation_amount",
    "compensation",
    "outcome",
    "requester_email",
    "requester_name",
    "owner_id",
    "team_id",
    "tags",
    "custom",
    "channel",
}
SLA_INPUTS = {"priority", "type", "category", "channel", "account_id"}


# --- the system actor --------------------------------------------------------------------------------


class SystemActor(Actor):
    """Mail, the bot, the public form and scheduled jobs act as the workspace itself: every right on
    every record, no user (audited with an empty user)."""

    def __init__(self, workspace, label: str = "system") -> None:
        self._workspace = workspace
        self.label = label
        self.api_key = None
        self._grants = {}

    @property
    def user(self):
        return None

    @property
    def workspace(self):
        return self._workspace

    @property
    def role(self):
        return None

    @property
    def can_manage_workspace(self) -> bool:
        return False

    def grant(self, object_type: str) -> Grant:
        return Grant(frozenset(ACTIONS), "all")

    team_ids: list[int] = []
    teammate_ids: list[int] = []


def system_actor(workspace, label: str = "system") -> SystemActor:
    return SystemActor(workspace, label)


# --- helpers -----------------------------------------------------------------------------------------


def _choice(errors: list, name: str, value: str, choices) -> None:
    if value not in choices.values:
        errors.append(FieldError(name, _("Choose one of: %s.") % ", ".join(choices.values), "invalid_choice"))


def clean_message_id(value: str) -> str:
    """A Message-ID as stored and compared: without whitespace and angle brackets."""
    return (value or "").strip().strip("<>").strip()[:255]


def match_contact(email: str) -> Contact | None:
    """The contact whose email (primary column, else any of their email addresses) is ``email``;
    the oldest when several are. Runs in the current workspace scope."""
    try:
        email = normalize_email(email)
    except ValueError:
        return None
    if not email:
        return None
    contact = Contact.objects.filter(email=email).select_related("account").order_by("id").first()
    if contact is not None:
        return contact
    point = (
        ContactPoint.objects.filter(kind=ContactPoint.Kind.EMAIL, value=email, contact__isnull=False)
        .select_related("contact__account")
        .order_by("id")
        .first()
    )
    return point.contact if point else None


def _visible_pk(actor: Actor, model, pk, field: str, errors: list):
    """The record ``pk`` of ``model`` if the actor may see it; a field error otherwise."""
    if pk in (None, ""):
        return None
    qs = model.objects.all()
    if issubclass(model, OwnedRecord):
        qs = visible(actor, qs)
    try:
        found = qs.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        errors.append(FieldError(field, _("Unknown record."), "invalid"))
    return found


def _member(user_id, field: str, errors: list) -> int | None:
    if user_id in (None, ""):
        return None
    if not Membership.objects.filter(user_id=user_id, is_active=True).exists():
        errors.append(FieldError(field, _("Choose an active member of this workspace."), "invalid"))
        return None
    return int(user_id)


def _team(team_id, field: str, errors: list) -> int | None:
    if team_id in (None, ""):
        return None
    if not Team.objects.filter(pk=team_id).exists():
        errors.append(FieldError(field, _("Unknown team."), "invalid"))
        return None
    return int(team_id)


def _clean_tags(tags, errors: list) -> list[str] | None:
    if tags is None:
        return None
    names: list[str] = []
    for raw in tags:
        name = " ".join(str(raw).split())[:50]
        if name and name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        errors.append(FieldError("tags", _("At most %d tags.") % MAX_TAGS, "too_many"))
    return names


def _clean_fields(actor: Actor, values: dict[str, Any], ticket: Ticket | None) -> dict[str, Any]:
    """Validated ticket fields (ids of related records checked against what the actor may see)."""
    # Model instances are accepted for the relations as well as ids.
    for name in ("account", "contact", "order", "product", "opportunity", "owner", "team"):
        if name in values:
            value = values.pop(name)
            values[f"{name}_id"] = value.pk if hasattr(value, "pk") else value
    unknown = sorted(set(values) - EDITABLE)
    errors: list[FieldError] = [FieldError(n, _("Unknown field."), "extra_forbidden") for n in unknown]
    cleaned: dict[str, Any] = {}
    for name in ("subject", "category", "language", "compensation", "requester_name"):
        if name in values:
            cleaned[name] = " ".join(str(values[name] or "").split())
    if "description" in values:
        cleaned["description"] = str(values["description"] or "").strip()[:MAX_BODY]
    if "subject" in cleaned:
        if not cleaned["subject"]:
            errors.append(FieldError("subject", _("This field is required."), "required"))
        elif len(cleaned["subject"]) > 300:
            errors.append(FieldError("subject", _("At most %d characters.") % 300, "too_long"))
    for name, choices in (
        ("type", Ticket.Type),
        ("priority", Ticket.Priority),
        ("channel", Ticket.Channel),
        ("severity", Ticket.Severity),
        ("root_cause", Ticket.RootCause),
        ("outcome", Ticket.Outcome),
    ):
        if name in values:
            value = str(values[name] or "")
            if value or name in ("type", "priority", "channel"):
                _choice(errors, name, value, choices)
            cleaned[name] = value
    if cleaned.get("category"):
        known = TicketCategory.objects.filter(name=cleaned["category"]).exists()
        if not known and (ticket is None or ticket.category != cleaned["category"]):
            errors.append(
                FieldError("category", _("Choose one of the workspace's categories."), "invalid_choice")
            )
    if "requester_email" in values:
        try:
            cleaned["requester_email"] = normalize_email(values["requester_email"] or "")
        except ValueError as error:
            errors.append(FieldError("requester_email", str(error), "invalid"))
    if "satisfaction" in values:
        value = values["satisfaction"]
        if value in (None, ""):
            cleaned["satisfaction"] = None
        elif not str(value).isdigit() or not 1 <= int(value) <= 5:
            errors.append(FieldError("satisfaction", _("A rating from 1 to 5."), "invalid"))
        else:
            cleaned["satisfaction"] = int(value)
    if "compensation_amount" in values:
        value = values["compensation_amount"]
        if value in (None, ""):
            cleaned["compensation_amount"] = None
        else:
            try:
                amount = Decimal(str(value)).quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                amount = None
            if amount is None or amount < 0 or amount >= Decimal(10) ** 12:
                errors.append(
                    FieldError("compensation_amount", _("Enter an amount of 0 or more."), "invalid")
                )
            else:
                cleaned["compensation_amount"] = amount
    relations = (
        ("account_id", Account),
        ("contact_id", Contact),
        ("order_id", "commerce.Order"),
        ("product_id", "commerce.Product"),
        ("opportunity_id", "deals.Opportunity"),
    )
    for name, model in relations:
        if name in values:
            model = apps.get_model(model) if isinstance(model, str) else model
            found = _visible_pk(actor, model, values[name], name, errors)
            cleaned[name] = found.pk if found else None
            cleaned[f"_{name}"] = found
    if "owner_id" in values:
        cleaned["owner_id"] = _member(values["owner_id"], "owner_id", errors)
    if "team_id" in values:
        cleaned["team_id"] = _team(values["team_id"], "team_id", errors)
    if "tags" in values:
        cleaned["tags"] = _clean_tags(values["tags"], errors)
    if values.get("custom") is not None:
        try:
            cleaned["custom"] = clean_custom_values(
                actor, Ticket.object_type, values["custom"], instance=ticket, partial=ticket is not None
            )
        except ValidationFailed as failed:
            errors += failed.details
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _pop_related(cleaned: dict) -> dict:
    return {k[1:]: cleaned.pop(k) for k in [k for k in cleaned if k.startswith("_")]}


def _grade_of(ticket: Ticket) -> str:
    if not ticket.account_id:
        return ""
    account = ticket.account
    return account.grade if account is not None else ""


# --- numbers, attachments, timeline ------------------------------------------------------------------


def _next_number(workspace) -> int:
    """The workspace's next ticket number; the counter row stays locked until the transaction ends, so
    concurrent openings get distinct, gapless numbers."""
    counter, _created = TicketCounter.objects.select_for_update().get_or_create(workspace=workspace)
    counter.last_value += 1
    counter.save(update_fields=["last_value", "updated_at"])
    return counter.last_value


def _save_attachments(actor: Actor, entry: TicketEntry, attachments: Iterable) -> list[TicketAttachment]:
    """Store the files of an entry. Each item is a Django ``File`` (an upload) or a dict
    ``{"name", "content" (bytes), "content_type"}`` (a mail part)."""
    limit = getattr(settings, "TICKETS_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)
    saved = []
    for index, item in enumerate(attachments or ()):
        if isinstance(item, dict):
            name = str(item.get("name") or "attachment")
            content = ContentFile(item.get("content") or b"")
            content_type = str(item.get("content_type") or "")
        elif isinstance(item, File):
            name, content, content_type = item.name or "attachment", item, getattr(item, "content_type", "")
        else:
            raise ValidationFailed([FieldError(f"attachments.{index}", _("Not a file."), "invalid")])
        name = name.replace("\\", "/").rsplit("/", 1)[-1][:200] or "attachment"
        size = content.size or 0
        if size > limit:
            raise ValidationFailed(
                [
                    FieldError(
                        f"attachments.{index}",
                        _("The file is larger than %(n)s MB.") % {"n": limit // 2**20},
                        "too_large",
                    )
                ]
            )
        content_type = (content_type or mimetypes.guess_type(name)[0] or "application/octet-stream")[:100]
        attachment = TicketAttachment(
            workspace=actor.workspace,
            entry=entry,
            name=name,
            content_type=content_type,
            size=size,
            created_by=actor.user,
            updated_by=actor.user,
        )
        attachment.file.save(name, content, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


_ACTIVITY_KIND = {
    Ticket.Channel.EMAIL: (Activity.Kind.EMAIL, ""),
    Ticket.Channel.PHONE: (Activity.Kind.CALL, ""),
    Ticket.Channel.WECHAT: (Activity.Kind.MESSAGE, Activity.Channel.WECHAT),
    Ticket.Channel.CHAT: (Activity.Kind.MESSAGE, Activity.Channel.CHAT),
    Ticket.Channel.BOT: (Activity.Kind.MESSAGE, Activity.Channel.CHAT),
}


def activity_links(ticket: Ticket) -> list[tuple[str, int]]:
    """Where an activity about the ticket shows: the ticket's, its contact's and its account's timelines."""
    links = [(Ticket.object_type, ticket.pk)]
    if ticket.contact_id:
        links.append((Contact.object_type, ticket.contact_id))
    if ticket.account_id:
        links.append((Account.object_type, ticket.account_id))
    return links


def _log_on_timeline(ticket: Ticket, entry: TicketEntry) -> None:
    """The entry as an activity on the ticket's, contact's and account's timelines."""
    if entry.kind == TicketEntry.Kind.NOTE:
        kind, channel, direction = Activity.Kind.NOTE, "", Activity.Direction.INTERNAL
        subject = _("Internal note on ticket #%(n)s: %(subject)s")
    else:
        kind, channel = _ACTIVITY_KIND.get(ticket.channel, (Activity.Kind.MESSAGE, ""))
        customer = entry.kind == TicketEntry.Kind.CUSTOMER
        direction = Activity.Direction.INBOUND if customer else Activity.Direction.OUTBOUND
        subject = (
            _("Customer wrote on ticket #%(n)s: %(subject)s")
            if customer
            else _("Reply on ticket #%(n)s: %(subject)s")
        )
    activity = record_system_activity(
        ticket.workspace,
        links=activity_links(ticket),
        kind=kind,
        channel=channel,
        direction=direction,
        subject=(subject % {"n": ticket.number, "subject": ticket.subject})[:200],
        body=entry.body,
        source_ref=f"tickets.entry:{entry.pk}",
        occurred_at=entry.created_at,
        owner=ticket.owner or entry.author,
    )
    entry.activity = activity
    TicketEntry.objects.filter(pk=entry.pk).update(activity=activity)


def _add_entry(
    actor: Actor, ticket: Ticket, kind: str, body: str, *, attachments=(), **fields
) -> TicketEntry:
    body = (body or "").strip()
    if not body and not attachments:
        raise ValidationFailed([FieldError("body", _("This field is required."), "required")])
    if len(body) > MAX_BODY:
        raise ValidationFailed([FieldError("body", _("At most %d characters.") % MAX_BODY, "too_long")])
    entry = TicketEntry(
        created_at=timezone.now(),
        workspace=ticket.workspace,
        ticket=ticket,
        kind=kind,
        body=body,
        created_by=actor.user,
        updated_by=actor.user,
        **fields,
    )
    entry.save()
    _save_attachments(actor, entry, attachments)
    record(
        "create",
        actor=actor,
        instance=entry,
        object_type="tickets.ticketentry",
        changes={"ticket": [None, ticket.pk], "kind": [None, kind]},
    )
    _log_on_timeline(ticket, entry)
    send_after_commit(entry_added, TicketEntry, entry=entry)
    return entry


# --- routing -----------------------------------------------------------------------------------------


def _listed(values, value: str) -> bool:
    return not values or value in values


def rule_matches(rule: RoutingRule, ticket: Ticket, grade: str) -> bool:
    c = rule.conditions or {}
    if not _listed(c.get("channel"), ticket.channel) or not _listed(c.get("category"), ticket.category):
        return False
    if not _listed(c.get("grade"), grade):
        return False
    languages = [str(x).lower() for x in c.get("language") or []]
    language = (ticket.language or "").lower()
    if languages and not any(language == x or language.startswith(x + "-") for x in languages):
        return False
    keywords = [str(k).lower() for k in c.get("keywords") or [] if str(k).strip()]
    if keywords:
        text = f"{ticket.subject}\n{ticket.description}".lower()
        if not any(k in text for k in keywords):
            return False
    return True


def _team_members(team_id: int) -> list[int]:
    """Active members of the team, by user id."""
    ids = Team.members.through.objects.filter(team_id=team_id).values_list("user_id", flat=True)
    return sorted(
        Membership.objects.filter(user_id__in=list(ids), is_active=True).values_list("user_id", flat=True)
    )


def _pick(rule: RoutingRule) -> int | None:
    if rule.assignment == RoutingRule.Assignment.USER:
        active = rule.user_id and Membership.objects.filter(user_id=rule.user_id, is_active=True).exists()
        return rule.user_id if active else None
    if rule.assignment == RoutingRule.Assignment.NONE or not rule.team_id:
        return None
    members = _team_members(rule.team_id)
    if not members:
        return None
    if rule.assignment == RoutingRule.Assignment.LEAST_LOADED:
        load = dict(
            Ticket.objects.filter(owner_id__in=members, status__in=OPEN_STATUSES)
            .order_by()
            .values_list("owner_id")
            .annotate(n=Count("id"))
        )
        return min(members, key=lambda uid: (load.get(uid, 0), uid))
    # Round-robin: lock the rule so concurrent tickets take turns, then the member after the last one.
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    after = [uid for uid in members if locked.last_assigned_id is not None and uid > locked.last_assigned_id]
    chosen = after[0] if after else members[0]
    RoutingRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    rule.last_assigned_id = chosen
    return chosen


def route(ticket: Ticket, grade: str) -> RoutingRule | None:
    """Apply the first active matching rule to ``ticket`` (queue and/or agent; not saved)."""
    for rule in RoutingRule.objects.filter(is_active=True).order_by("position", "id"):
        if rule_matches(rule, ticket, grade):
            if rule.team_id:
                ticket.team_id = rule.team_id
            if (owner := _pick(rule)) is not None:
                ticket.owner_id = owner
            return rule
    return None


# --- opening and conversation ------------------------------------------------------------------------


def _notify_assignee(actor: Actor, ticket: Ticket, before: int | None) -> None:
    """Tell the ticket's assignee it is theirs, unless they had it already or gave it to themselves."""
    if ticket.owner_id and ticket.owner_id != before and ticket.owner_id != getattr(actor.user, "pk", None):
        notify(
            ticket.workspace,
            [ticket.owner_id],
            "ticket_assigned",  # labelled in apps.py: a ticket, not a task, was assigned
            _("Ticket #%(n)s is yours: %(subject)s") % {"n": ticket.number, "subject": ticket.subject},
            Ticket.object_type,
            ticket.pk,
        )


@transaction.atomic
def open_ticket(
    actor: Actor,
    *,
    subject: str,
    description: str,
    channel: str,
    contact: Contact | None = None,
    account: Account | None = None,
    sender_email: str = "",
    sender_name: str = "",
    type: str = "inquiry",
    priority: str = "normal",
    category: str = "",
    language: str = "",
    message_id: str = "",
    attachments: Iterable = (),
    **extra: Any,
) -> Ticket:
    """Open a ticket: matches ``sender_email`` to a contact when none is given (account from the
    contact), applies the routing rules (unless ``owner_id``/``team_id`` are given), chooses the SLA
    policy and sets its due dates, and records the description as the customer's first message.

    Extra keywords: the fields of ``update_ticket`` (tags, custom, order_id, severity …)."""
    require(actor, "create", Ticket.object_type)
    values = {
        "subject": subject,
        "description": description,
        "channel": channel,
        "type": type,
        "priority": priority,
        "category": category,
        "language": language,
        **extra,
    }
    given_contact = contact is not None or values.get("contact_id") not in (None, "")
    if contact is not None:
        values["contact"] = contact
    if account is not None:
        values["account"] = account
    try:
        sender = normalize_email(sender_email)
    except ValueError as error:
        raise ValidationFailed([FieldError("sender_email", str(error), "invalid")]) from None
    cleaned = _clean_fields(actor, values, None)
    related = _pop_related(cleaned)
    tags = cleaned.pop("tags", None)
    explicit_route = cleaned.get("owner_id") is not None or cleaned.get("team_id") is not None
    contact = related.get("contact_id")
    if not given_contact and sender:
        contact = match_contact(sender)
        cleaned["contact_id"] = contact.pk if contact else None
    if contact is not None and not cleaned.get("account_id"):
        cleaned["account_id"] = contact.account_id
    cleaned.setdefault("requester_email", sender or (contact.email if contact else ""))
    cleaned.setdefault(
        "requester_name", " ".join(sender_name.split())[:200] or (contact.name if contact else "")
    )
    cleaned.setdefault("custom", {})
    now = timezone.now()
    ticket = Ticket(number=_next_number(actor.workspace), created_at=now, status_changed_at=now, **cleaned)
    ticket.workspace = actor.workspace
    grade = _grade_of(ticket)
    if not explicit_route:
        route(ticket, grade)
    sla.apply_policy(ticket, grade=grade, start=now)
    create_record(actor, ticket)
    if tags:
        set_tags(actor, ticket, tags)
    if ticket.description or attachments or message_id:
        _add_entry(
            actor,
            ticket,
            TicketEntry.Kind.CUSTOMER,
            ticket.description or ticket.subject,
            attachments=attachments,
            sender_email=sender or ticket.requester_email,
            sender_name=ticket.requester_name,
            message_id=clean_message_id(message_id),
        )
    _notify_assignee(actor, ticket, None)
    send_after_commit(ticket_opened, Ticket, ticket=ticket)
    return ticket


def _copy(ticket: Ticket) -> Ticket:
    """An unsaved copy of the row's values (to compute SLA changes before auditing them)."""
    probe = Ticket(**{f.attname: getattr(ticket, f.attname) for f in Ticket._meta.concrete_fields})
    if ticket.sla_policy_id:
        probe.sla_policy = ticket.sla_policy
    return probe


def _set_status(ticket: Ticket, new: str, now: datetime) -> dict:
    """Field values of a status change (SLA pause/resume, stamps); no validation, not saved."""
    old = ticket.status
    values: dict[str, Any] = {"status": new, "status_changed_at": now}
    probe = _copy(ticket)
    if new in PAUSED_STATUSES:
        sla.pause(probe, now)
    elif old in PAUSED_STATUSES:
        sla.resume(probe, now)
    if new == S.RESOLVED or (new == S.CLOSED and probe.resolved_at is None):
        # A pause has just ended above, so the paused minutes are complete.
        probe.resolved_at = now
        probe.resolution_business_minutes = sla.business_minutes_to(probe, now)
    if new == S.CLOSED:
        probe.closed_at = now
        probe.sla_paused_at = None
    elif new == S.REOPENED and old in FINISHED_STATUSES:
        # The time it was resolved is not the team's: the due dates move by it, like a pause.
        since, probe.resolved_at, probe.closed_at = probe.resolved_at, None, None
        probe.resolution_business_minutes = None
        if since:
            sla.shift(probe, since, now)
    for name in (
        "first_response_due_at",
        "resolution_due_at",
        "resolved_at",
        "resolution_business_minutes",
        "closed_at",
        "sla_paused_at",
        "sla_paused_minutes",
    ):
        if getattr(probe, name) != getattr(ticket, name):
            values[name] = getattr(probe, name)
    return values


def _apply_status(actor: Actor, ticket: Ticket, new: str, reason: str = "", *, check: bool = True) -> bool:
    old = ticket.status
    if new == old:
        return False
    if new not in S.values:
        raise ValidationFailed(
            [FieldError("status", _("Choose one of: %s.") % ", ".join(S.values), "invalid_choice")]
        )
    if check and new not in TRANSITIONS[old]:
        raise ValidationFailed(
            [
                FieldError(
                    "status",
                    _("A ticket cannot go from “%(old)s” to “%(new)s”.")
                    % {"old": S(old).label, "new": S(new).label},
                    "invalid_transition",
                )
            ]
        )
    ticket.updated_by = actor.user
    update_record(actor, ticket, _set_status(ticket, new, timezone.now()))
    if reason:
        _add_entry(
            actor,
            ticket,
            TicketEntry.Kind.NOTE,
            _("Status “%(status)s”: %(reason)s") % {"status": S(new).label, "reason": reason},
            author=actor.user,
        )
    send_after_commit(status_changed, Ticket, ticket=ticket, old=old, new=new)
    return True


def _require_change(actor: Actor, ticket: Ticket) -> None:
    require(actor, "change", Ticket.object_type)
    if not visible(actor, Ticket.objects.filter(pk=ticket.pk)).exists():
        raise NotFound()


@transaction.atomic
def change_status(actor: Actor, ticket: Ticket, status: str, reason: str = "") -> Ticket:
    """Move the ticket along the status machine (``TRANSITIONS``): pending / on hold pause the SLA
    clock, leaving them resumes it (due dates move by the paused business minutes); resolved and
    closed stamp their times; reopening a resolved ticket moves the due dates by the resolved time."""
    _require_change(actor, ticket)
    _apply_status(actor, ticket, status, reason.strip())
    return ticket


@transaction.atomic
def add_customer_message(
    actor: Actor,
    ticket: Ticket,
    *,
    body: str,
    sender_email: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    attachments: Iterable = (),
    sender_name: str = "",
    body_html: str = "",
) -> TicketEntry:
    """The customer wrote again: reopens a resolved/closed ticket, resumes a paused SLA clock. A mail
    whose Message-ID is already on the ticket is not added twice (the existing entry is returned)."""
    _require_change(actor, ticket)
    message_id = clean_message_id(message_id)
    if message_id and (existing := TicketEntry.objects.filter(ticket=ticket, message_id=message_id).first()):
        return existing
    try:
        sender = normalize_email(sender_email)
    except ValueError:
        sender = ""
    entry = _add_entry(
        actor,
        ticket,
        TicketEntry.Kind.CUSTOMER,
        body,
        attachments=attachments,
        sender_email=sender or ticket.requester_email,
        sender_name=sender_name[:200] or ticket.requester_name,
        message_id=message_id,
        in_reply_to=clean_message_id(in_reply_to),
        body_html=body_html,
    )
    if ticket.status in FINISHED_STATUSES:
        _apply_status(actor, ticket, S.REOPENED)
    elif ticket.status in PAUSED_STATUSES:
        _apply_status(actor, ticket, S.OPEN)
    return entry


@transaction.atomic
def reply(
    actor: Actor, ticket: Ticket, *, body: str, public: bool = True, status: str | None = None, attachments=()
) -> TicketEntry:
    """A public reply (the first stamps ``first_responded_at``) or an internal note, optionally with a
    status change in the same step. A public reply to a new or reopened ticket opens it."""
    _require_change(actor, ticket)
    kind = TicketEntry.Kind.REPLY if public else TicketEntry.Kind.NOTE
    user = actor.user
    entry = _add_entry(
        actor,
        ticket,
        kind,
        body,
        attachments=attachments,
        author=user,
        sender_email=getattr(user, "email", ""),
        sender_name=getattr(user, "name", "") or "",
    )
    if public and ticket.first_responded_at is None:
        # Saved here, not by update_record: these columns are not edited (so not audited), and
        # update_record saves only an audited change; the stamp was lost when the same step did not
        # change the status too (a first reply to a pending, on-hold or open ticket).
        ticket.first_responded_at = entry.created_at
        ticket.first_response_business_minutes = sla.business_minutes_to(ticket, entry.created_at)
        ticket.updated_by = user
        ticket.save(
            update_fields=[
                "first_responded_at",
                "first_response_business_minutes",
                "updated_at",
                "updated_by",
            ]
        )
    if status:
        _apply_status(actor, ticket, status)
    elif public and ticket.status in (S.NEW, S.REOPENED):
        _apply_status(actor, ticket, S.OPEN)
    return entry


@transaction.atomic
def assign(actor: Actor, ticket: Ticket, user=None, team=None) -> Ticket:
    """Make ``user`` the assignee and ``team`` the queue (None clears); the new assignee is notified."""
    _require_change(actor, ticket)
    errors: list[FieldError] = []
    owner_id = _member(getattr(user, "pk", user), "owner_id", errors)
    team_id = _team(getattr(team, "pk", team), "team_id", errors)
    if errors:
        raise ValidationFailed(errors)
    before = ticket.owner_id
    update_record(actor, ticket, {"owner_id": owner_id, "team_id": team_id})
    _notify_assignee(actor, ticket, before)
    return ticket


def _refresh_sla(ticket: Ticket) -> None:
    """Re-choose the policy after a change of its inputs; the due dates count from the opening plus the
    minutes paused so far."""
    if ticket.status in FINISHED_STATUSES:
        return
    sla.apply_policy(ticket, grade=_grade_of(ticket), start=ticket.created_at)
    if ticket.sla_policy_id and ticket.sla_paused_minutes:
        calendar = sla.calendar_of(ticket.sla_policy)
        # An answered first response keeps its due date as it was (already moved by its pauses).
        recomputed = (
            ("resolution_due_at",)
            if ticket.first_responded_at
            else ("first_response_due_at", "resolution_due_at")
        )
        for name in recomputed:
            if getattr(ticket, name):
                setattr(
                    ticket, name, sla.add_minutes(calendar, getattr(ticket, name), ticket.sla_paused_minutes)
                )


@transaction.atomic
def update_ticket(actor: Actor, ticket: Ticket, **fields: Any) -> Ticket:
    """Change a ticket's fields (not its status: ``change_status``; not its assignee: ``assign``,
    although ``owner_id``/``team_id`` are accepted here too). A new priority, type, category, channel or
    account re-chooses the SLA policy."""
    _require_change(actor, ticket)
    if "status" in fields:
        raise ValidationFailed([FieldError("status", _("Change the status with its own action."), "invalid")])
    cleaned = _clean_fields(actor, dict(fields), ticket)
    _pop_related(cleaned)
    tags = cleaned.pop("tags", None)
    if "contact_id" in cleaned and "account_id" not in cleaned and cleaned["contact_id"]:
        cleaned["account_id"] = (
            Contact.objects.filter(pk=cleaned["contact_id"]).values_list("account_id", flat=True).first()
        )
    probe = _copy(ticket)
    for name, value in cleaned.items():
        setattr(probe, name, value)
    if any(getattr(probe, name) != getattr(ticket, name) for name in SLA_INPUTS):
        _refresh_sla(probe)
        cleaned.update(
            sla_policy_id=probe.sla_policy_id,
            first_response_due_at=probe.first_response_due_at,
            resolution_due_at=probe.resolution_due_at,
        )
    update_record(actor, ticket, cleaned)
    if tags is not None:
        set_tags(actor, ticket, tags)
    return ticket


def ticket_tags(ticket: Ticket) -> list[str]:
    return tags_of(ticket)


# --- mail threading and replies ----------------------------------------------------------------------


def find_ticket_for_mail(workspace, *, subject: str, in_reply_to: str = "", references=()) -> Ticket | None:
    """The ticket a mail belongs to: its In-Reply-To / References against the entries' Message-IDs
    first (the newest match), then a "[#1234]" reference in the subject."""
    if isinstance(references, str):
        references = references.split()
    ids = [clean_message_id(v) for v in [in_reply_to, *(references or [])]]
    ids = [v for v in dict.fromkeys(ids) if v]
    with scope(workspace=workspace):
        if ids:
            entry = (
                TicketEntry.objects.filter(workspace=workspace, message_id__in=ids[:50])
                .select_related("ticket")
                .order_by("-id")
                .first()
            )
            if entry is not None:
                return entry.ticket
        match = SUBJECT_REF.search(subject or "")
        if match:
            return Ticket.objects.filter(workspace=workspace, number=int(match.group(1))).first()
    return None


def reply_recipient(ticket: Ticket) -> str:
    """Where public replies go: the ticket's requester address, else its contact's email."""
    if ticket.requester_email:
        return ticket.requester_email
    return ticket.contact.email if ticket.contact_id else ""


@transaction.atomic
def set_entry_message_id(entry: TicketEntry, message_id: str) -> None:
    """Mail sending stores the Message-ID it gave a reply, so the customer's answer threads."""
    TicketEntry.objects.filter(pk=entry.pk).update(message_id=clean_message_id(message_id))
    entry.message_id = clean_message_id(message_id)


# --- scheduled: auto-close ---------------------------------------------------------------------------


def auto_close_days() -> int:
    return int(getattr(settings, "TICKETS_AUTO_CLOSE_DAYS", 7))


def close_resolved(workspace, now: datetime | None = None) -> int:
    """Close the workspace's tickets resolved more than ``TICKETS_AUTO_CLOSE_DAYS`` ago; how many."""
    now = now or timezone.now()
    actor = system_actor(workspace, "auto-close")
    cutoff = now - timedelta(days=auto_close_days())
    closed = 0
    ids = list(
        Ticket.objects.filter(status=S.RESOLVED, resolved_at__lt=cutoff)
        .order_by("resolved_at")
        .values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=pk, status=S.RESOLVED).first()
            if ticket is not None:
                _apply_status(actor, ticket, S.CLOSED)
                closed += 1
    return closed


# --- categories and routing rules (administrators) ---------------------------------------------------


def _clean_position(value, errors: list) -> int:
    try:
        position = int(value)
    except (TypeError, ValueError):
        errors.append(FieldError("position", _("Enter a whole number."), "invalid"))
        return 0
    if position < 0:
        errors.append(FieldError("position", _("Enter 0 or more."), "invalid"))
    return position


def _next_position(model) -> int:
    """After the last row: a new rule or category without a position goes to the end."""
    last = model.objects.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def _unknown(values: dict, known) -> list[FieldError]:
    return [FieldError(n, _("Unknown field."), "extra_forbidden") for n in sorted(set(values) - set(known))]


RULE_FIELDS = ("name", "position", "is_active", "conditions", "assignment", "team_id", "user_id")
CATEGORY_FIELDS = ("name", "position", "is_active")


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = _unknown(values, RULE_FIELDS)
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = " ".join(str(values["name"] or "").split())[:100]
        if not cleaned["name"]:
            errors.append(FieldError("name", _("This field is required."), "required"))
    if values.get("position") is not None:
        cleaned["position"] = _clean_position(values["position"], errors)
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    if "conditions" in values:
        conditions = values["conditions"] or {}
        if not isinstance(conditions, dict):
            errors.append(FieldError("conditions", _("Must be an object."), "invalid"))
            conditions = {}
        unknown = sorted(set(conditions) - set(RoutingRule.CONDITION_KEYS))
        errors += [FieldError(f"conditions.{k}", _("Unknown condition."), "invalid") for k in unknown]
        clean_conditions = {}
        for key in RoutingRule.CONDITION_KEYS:
            items = conditions.get(key) or []
            if isinstance(items, str):
                items = [items]
            items = [" ".join(str(i).split()) for i in items if str(i).strip()]
            if key == "channel":
                bad = [i for i in items if i not in Ticket.Channel.values]
                if bad:
                    errors.append(
                        FieldError("conditions.channel", _("Unknown channel: %s.") % ", ".join(bad))
                    )
            if items:
                clean_conditions[key] = items
        cleaned["conditions"] = clean_conditions
    if "assignment" in values:
        _choice(errors, "assignment", values["assignment"], RoutingRule.Assignment)
        cleaned["assignment"] = values["assignment"]
    if "team_id" in values:
        cleaned["team_id"] = _team(values["team_id"], "team_id", errors)
    if "user_id" in values:
        cleaned["user_id"] = _member(values["user_id"], "user_id", errors)
    assignment = cleaned.get("assignment")
    if assignment == RoutingRule.Assignment.USER and not cleaned.get("user_id") and "user_id" in values:
        errors.append(FieldError("user_id", _("Choose the agent."), "required"))
    if (
        assignment in (RoutingRule.Assignment.ROUND_ROBIN, RoutingRule.Assignment.LEAST_LOADED)
        and not cleaned.get("team_id")
        and "team_id" in values
    ):
        errors.append(FieldError("team_id", _("Round-robin and least-loaded need a team."), "required"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_rule(actor: Actor, **values: Any) -> RoutingRule:
    """A routing rule; without a position it goes after the last one."""
    require_manager(actor)
    values.setdefault("assignment", RoutingRule.Assignment.NONE)
    values.setdefault("team_id", None)
    values.setdefault("user_id", None)
    cleaned = _clean_rule(values)
    cleaned.setdefault("position", _next_position(RoutingRule))
    return create_record(actor, RoutingRule(**cleaned))


@transaction.atomic
def update_rule(actor: Actor, rule: RoutingRule, **values: Any) -> RoutingRule:
    require_manager(actor)
    merged = {"assignment": rule.assignment, "team_id": rule.team_id, "user_id": rule.user_id, **values}
    update_record(actor, rule, _clean_rule(merged))
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: RoutingRule) -> None:
    require_manager(actor)
    delete_record(actor, rule)


@transaction.atomic
def reorder_rules(actor: Actor, ids: list[int]) -> list[RoutingRule]:
    """Set the matching order: the given rule ids first, in order, the others after them as they
    were; positions become 0, 1, 2 … (each change audited). Returns the rules in the new order."""
    require_manager(actor)
    rules = {r.pk: r for r in RoutingRule.objects.select_for_update().order_by("position", "id")}
    wanted = list(dict.fromkeys(ids))
    chosen = set(wanted)
    if chosen - rules.keys():
        raise NotFound()
    order = wanted + [pk for pk in rules if pk not in chosen]
    for position, pk in enumerate(order):
        if rules[pk].position != position:
            update_record(actor, rules[pk], {"position": position})
    return [rules[pk] for pk in order]


def _clean_category(values: dict[str, Any], category: TicketCategory | None) -> dict[str, Any]:
    errors: list[FieldError] = _unknown(values, CATEGORY_FIELDS)
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())[:100]
        if not name:
            errors.append(FieldError("name", _("This field is required."), "required"))
        elif TicketCategory.objects.filter(name=name).exclude(pk=getattr(category, "pk", None)).exists():
            errors.append(FieldError("name", _("A category with this name exists."), "unique"))
        cleaned["name"] = name
    if values.get("position") is not None:
        cleaned["position"] = _clean_position(values["position"], errors)
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_category(actor: Actor, **values: Any) -> TicketCategory:
    """A ticket category (``name``, ``position`` — default after the last —, ``is_active``)."""
    require_manager(actor)
    values.setdefault("name", "")
    cleaned = _clean_category(values, None)
    cleaned.setdefault("position", _next_position(TicketCategory))
    return create_record(actor, TicketCategory(**cleaned))


@transaction.atomic
def update_category(actor: Actor, category: TicketCategory, **values: Any) -> TicketCategory:
    """Rename, move or (de)activate a category. Tickets keep the name they were filed under; an
    inactive category is no longer offered for new tickets."""
    require_manager(actor)
    update_record(actor, category, _clean_category(values, category))
    return category


@transaction.atomic
def delete_category(actor: Actor, category: TicketCategory) -> None:
    require_manager(actor)
    delete_record(actor, category)
