"""Writes on activities, comments, notifications and tasks: validation, permissions and audit.

Other apps log their events on a customer's timeline with ``record_system_activity`` (a ticket
reply, an order paid …): it needs no actor, because the caller has already authorised the event.
"""

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.audit.models import AuditEntry
from kehu.audit.services import create_record, delete_record, record, update_record
from kehu.core.errors import FieldError, PermissionDenied, ValidationFailed
from kehu.workspaces.access import Actor, require
from kehu.workspaces.models import Membership, Team

from .models import Activity, ActivityLink, Comment, Notification, Task
from .records import check_links, record_model

logger = logging.getLogger(__name__)

ACTIVITY_FIELDS = {
    "kind",
    "channel",
    "direction",
    "occurred_at",
    "duration",
    "subject",
    "body",
    "outcome",
    "external_participants",
    "owner_id",
    "team_id",
}
TASK_FIELDS = {
    "title",
    "description",
    "due_at",
    "assignee_id",
    "priority",
    "status",
    "reminder_at",
    "record_type",
    "record_id",
    "owner_id",
    "team_id",
}


def _choice(errors: list, values: dict, name: str, choices: Iterable[str]) -> None:
    choices = list(choices)
    if name in values and values[name] not in choices:
        errors.append(FieldError(name, _("Choose one of: %s.") % ", ".join(choices), "invalid_choice"))


def _member_errors(errors: list, values: dict, *names: str) -> None:
    for name in names:
        user_id = values.get(name)
        if user_id is not None and not Membership.objects.filter(user_id=user_id, is_active=True).exists():
            errors.append(FieldError(name, _("Choose an active member of this workspace."), "invalid"))


def _team_error(errors: list, values: dict) -> None:
    if values.get("team_id") is not None and not Team.objects.filter(pk=values["team_id"]).exists():
        errors.append(FieldError("team_id", _("Unknown team."), "invalid"))


# --- activities ------------------------------------------------------------------------------------


def _clean_activity(values: dict[str, Any], *, current: Activity | None = None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in ACTIVITY_FIELDS}
    for name in ("subject", "body", "outcome", "external_participants", "channel"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    if current is None and not cleaned.get("kind"):
        errors.append(FieldError("kind", _("This field is required."), "required"))
    _choice(errors, cleaned, "kind", Activity.Kind.values) if cleaned.get("kind") else None
    _choice(errors, cleaned, "direction", Activity.Direction.values)
    kind = cleaned.get("kind", current.kind if current else "")
    channel = cleaned.get("channel", current.channel if current else "")
    if channel and channel not in Activity.Channel.values:
        errors.append(
            FieldError(
                "channel", _("Choose one of: %s.") % ", ".join(Activity.Channel.values), "invalid_choice"
            )
        )
    elif channel and kind != Activity.Kind.MESSAGE:
        errors.append(FieldError("channel", _("Only messages have a channel."), "invalid"))
    if cleaned.get("duration") is not None and int(cleaned["duration"]) < 0:
        errors.append(FieldError("duration", _("Must be at least %(n)s.") % {"n": 0}, "invalid"))
    if "occurred_at" in cleaned and cleaned["occurred_at"] is None:
        cleaned["occurred_at"] = timezone.now()
    _member_errors(errors, cleaned, "owner_id")
    _team_error(errors, cleaned)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _check_participants(ids: Iterable[int] | None) -> list[int]:
    ids = sorted(set(ids or []))
    found = set(Membership.objects.filter(user_id__in=ids, is_active=True).values_list("user_id", flat=True))
    if missing := [i for i in ids if i not in found]:
        raise ValidationFailed(
            [FieldError("participant_ids", _("Not members of this workspace: %s.") % missing, "invalid")]
        )
    return ids


def _write_links(activity: Activity, links: list[tuple[str, int]]) -> None:
    ActivityLink.objects.filter(activity=activity).delete()
    ActivityLink.objects.bulk_create(
        ActivityLink(
            workspace_id=activity.workspace_id,
            activity=activity,
            object_type=object_type,
            object_id=object_id,
            occurred_at=activity.occurred_at,
            kind=activity.kind,
        )
        for object_type, object_id in links
    )


@transaction.atomic
def log_activity(
    actor: Actor,
    *,
    links: Iterable[tuple[str, int]] = (),
    participant_ids: Iterable[int] | None = None,
    source: str = Activity.Source.MANUAL,
    source_ref: str = "",
    **values: Any,
) -> Activity:
    """Log an interaction linked to records the actor may see (each checked with ``access_record``)."""
    require(actor, "create", Activity.object_type)
    if source not in Activity.Source.values:
        raise ValidationFailed([FieldError("source", _("Unknown source."), "invalid_choice")])
    cleaned = _clean_activity(values)
    checked = check_links(actor, links)
    participants = _check_participants(participant_ids)
    cleaned.setdefault("owner_id", None)
    if cleaned["owner_id"] is None:
        cleaned["owner_id"] = actor.user.pk
    activity = create_record(actor, Activity(source=source, source_ref=source_ref, **cleaned))
    if participants:
        activity.participants.set(participants)
    _write_links(activity, checked)
    return activity


@transaction.atomic
def update_activity(
    actor: Actor,
    activity: Activity,
    *,
    links: Iterable[tuple[str, int]] | None = None,
    participant_ids: Iterable[int] | None = None,
    **values: Any,
) -> Activity:
    require(actor, "change", Activity.object_type)
    cleaned = _clean_activity(values, current=activity)
    changes = update_record(actor, activity, cleaned)
    if participant_ids is not None:
        activity.participants.set(_check_participants(participant_ids))
    if links is not None:
        _write_links(activity, check_links(actor, links))
    elif {"occurred_at", "kind"} & changes.keys():
        ActivityLink.objects.filter(activity=activity).update(
            occurred_at=activity.occurred_at, kind=activity.kind
        )
    return activity


@transaction.atomic
def delete_activity(actor: Actor, activity: Activity) -> None:
    require(actor, "delete", Activity.object_type)
    delete_record(actor, activity)


@transaction.atomic
def record_system_activity(
    workspace,
    *,
    links: Iterable[tuple[str, int]],
    kind: str,
    subject: str,
    source_ref: str,
    body: str = "",
    direction: str = Activity.Direction.INTERNAL,
    channel: str = "",
    occurred_at: datetime | None = None,
    owner=None,
    outcome: str = "",
) -> Activity:
    """Log an event of another part of Kehu (e.g. a ticket reply) on the linked records' timelines.

    Public API for the apps above activities. The caller has authorised the event, so no actor is
    needed; ``source_ref`` ("service.ticketreply:42") makes it idempotent: the same reference logs
    once. Runs inside the workspace's scope. The owner (default none) decides who sees the entry
    under "own" record scopes; with no owner only roles that see all activities see it.
    """
    existing = Activity.objects.filter(source=Activity.Source.SYSTEM, source_ref=source_ref).first()
    if existing is not None:
        return existing
    cleaned = _clean_activity(
        {
            "kind": kind,
            "subject": subject,
            "body": body,
            "direction": direction,
            "channel": channel,
            "occurred_at": occurred_at or timezone.now(),
            "outcome": outcome,
        }
    )
    activity = Activity(
        workspace=workspace, owner=owner, source=Activity.Source.SYSTEM, source_ref=source_ref, **cleaned
    )
    activity.save()
    record(AuditEntry.Action.CREATE, workspace=workspace, instance=activity, label="system")
    known = [(t, int(i)) for t, i in links if record_model(t) is not None]
    _write_links(activity, list(dict.fromkeys(known)))
    return activity


# --- notifications ---------------------------------------------------------------------------------


def notify(workspace, user_ids: Iterable[int], verb: str, text: str, object_type: str = "", object_id=None):
    """Queue in-app notifications for members; written when the surrounding transaction commits."""
    rows = [
        Notification(
            workspace_id=workspace.pk,
            user_id=user_id,
            verb=verb,
            text=text[:300],
            object_type=object_type,
            object_id=object_id,
        )
        for user_id in dict.fromkeys(user_ids)
        if user_id is not None
    ]
    if rows:
        transaction.on_commit(lambda: Notification.objects.bulk_create(rows))


def mark_read(actor: Actor, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read (all unread ones when no ids are given); how many changed."""
    qs = Notification.objects.filter(user=actor.user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


# --- comments and mentions -------------------------------------------------------------------------

_AFTER_NAME = re.compile(r"[A-Za-z0-9_]")
_TOKEN = re.compile(r"[\w.+\-]+")


def resolve_mentions(text: str) -> list[int]:
    """User ids of the active workspace members ``@``-mentioned in ``text``, in order.

    ``@`` followed by a member's full name (longest match wins; "@张伟" or "@James Miller") or by the
    start of their email address ("@sales" for sales@…, when only one member's email starts so).
    Only members of the current workspace are candidates, so nobody outside it can be reached.
    """
    if "@" not in text:
        return []
    members = list(
        Membership.objects.filter(is_active=True, user__is_active=True).values_list(
            "user_id", "user__name", "user__email"
        )
    )
    by_name = sorted(((n.lower(), uid) for uid, n, _e in members if n), key=lambda x: -len(x[0]))
    found: list[int] = []
    for match in re.finditer("@", text):
        rest = text[match.end() :]
        lowered = rest.lower()
        user_id = next(
            (
                uid
                for name, uid in by_name
                if lowered.startswith(name) and not _AFTER_NAME.match(rest[len(name) : len(name) + 1])
            ),
            None,
        )
        if user_id is None and (token := _TOKEN.match(rest)):
            prefix = token.group().lower().rstrip(".")
            exact = [uid for uid, _n, email in members if email.lower().split("@")[0] == prefix]
            starts = [uid for uid, _n, email in members if email.lower().startswith(prefix)]
            candidates = exact or starts
            if len(prefix) >= 2 and len(candidates) == 1:
                user_id = candidates[0]
        if user_id is not None and user_id not in found:
            found.append(user_id)
    return found


def can_comment(actor: Actor, record_type: str) -> bool:
    """Commenting is writing: the role may change the record's type or log activities."""
    return actor.can("change", record_type) or actor.can("create", Activity.object_type)


@transaction.atomic
def add_comment(actor: Actor, *, record_type: str, record_id: int, body: str) -> Comment:
    """Comment on a record the actor may see; each mentioned member gets a notification."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed([FieldError("body", _("This field is required."), "required")])
    if len(body) > 10000:
        raise ValidationFailed([FieldError("body", _("Must have at most %(n)s characters.") % {"n": 10000})])
    ((record_type, record_id),) = check_links(actor, [(record_type, record_id)], field="record")
    if not can_comment(actor, record_type):
        raise PermissionDenied()
    comment = create_record(
        actor, Comment(record_type=record_type, record_id=record_id, author=actor.user, body=body)
    )
    mentioned = [uid for uid in resolve_mentions(body) if uid != actor.user.pk]
    if mentioned:
        comment.mentions.set(mentioned)
        text = f"{actor.user}: {body[:200]}"
        notify(actor.workspace, mentioned, Notification.Verb.MENTION, text, record_type, record_id)
    return comment


@transaction.atomic
def delete_comment(actor: Actor, comment: Comment) -> None:
    """Authors delete their own comments; workspace managers any."""
    if comment.author_id != actor.user.pk and not actor.can_manage_workspace:
        raise PermissionDenied()
    delete_record(actor, comment)


# --- tasks -----------------------------------------------------------------------------------------


def _clean_task(actor: Actor, values: dict[str, Any], *, current: Task | None = None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned = {k: v for k, v in values.items() if k in TASK_FIELDS}
    if "title" in cleaned or current is None:
        cleaned["title"] = " ".join(str(cleaned.get("title") or "").split())
        if not cleaned["title"]:
            errors.append(FieldError("title", _("This field is required."), "required"))
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"] or "").strip()
    _choice(errors, cleaned, "priority", Task.Priority.values)
    _choice(errors, cleaned, "status", Task.Status.values)
    _member_errors(errors, cleaned, "assignee_id", "owner_id")
    _team_error(errors, cleaned)
    record_type = cleaned.get("record_type", current.record_type if current else "") or ""
    record_id = cleaned.get("record_id", current.record_id if current else None)
    if "record_type" in cleaned or "record_id" in cleaned:
        if record_type and record_id is not None:
            try:
                check_links(actor, [(record_type, record_id)], field="record")
            except ValidationFailed:
                errors.append(FieldError("record_id", _("Unknown record."), "invalid"))
        elif record_type or record_id is not None:
            errors.append(FieldError("record_id", _("Give both the record type and its id."), "invalid"))
        cleaned["record_type"] = record_type
    if errors:
        raise ValidationFailed(errors)
    if "status" in cleaned:
        was_done = current is not None and current.status == Task.Status.DONE
        if cleaned["status"] == Task.Status.DONE and not was_done:
            cleaned["completed_at"] = timezone.now()
        elif cleaned["status"] != Task.Status.DONE:
            cleaned["completed_at"] = None
    if "reminder_at" in cleaned and (current is None or cleaned["reminder_at"] != current.reminder_at):
        cleaned["reminded_at"] = None  # a new reminder time reminds again
    return cleaned


def _notify_assignee(actor: Actor, task: Task) -> None:
    if task.assignee_id and task.assignee_id != actor.user.pk:  # the verb is translated when shown
        text = f"{actor.user}: {task.title}"
        notify(
            actor.workspace, [task.assignee_id], Notification.Verb.ASSIGNED, text, Task.object_type, task.pk
        )


@transaction.atomic
def create_task(actor: Actor, **values: Any) -> Task:
    """A task; assigned to the actor unless told, owned by its assignee (who must be able to see it)."""
    require(actor, "create", Task.object_type)
    if values.get("assignee_id") is None:
        values["assignee_id"] = actor.user.pk
    if values.get("owner_id") is None:
        values["owner_id"] = values["assignee_id"]
    task = create_record(actor, Task(**_clean_task(actor, values)))
    _notify_assignee(actor, task)
    return task


@transaction.atomic
def update_task(actor: Actor, task: Task, **values: Any) -> Task:
    if not _is_assignee(actor, task):
        require(actor, "change", Task.object_type)
    before = task.assignee_id
    update_record(actor, task, _clean_task(actor, values, current=task))
    if task.assignee_id != before:
        _notify_assignee(actor, task)
    return task


def _is_assignee(actor: Actor, task: Task) -> bool:
    return task.assignee_id is not None and task.assignee_id == actor.user.pk


def complete_task(actor: Actor, task: Task) -> Task:
    """Mark done (the assignee always may; others need the change permission)."""
    return update_task(actor, task, status=Task.Status.DONE)


@transaction.atomic
def delete_task(actor: Actor, task: Task) -> None:
    require(actor, "delete", Task.object_type)
    delete_record(actor, task)


def send_due_reminders(workspace, now: datetime | None = None) -> int:
    """Notify assignees (in the app and by email) of open tasks whose reminder time has passed.

    Each task is claimed with a conditional update of ``reminded_at`` before anything is sent, so
    running this twice, or in two workers at once, reminds once. Returns how many were sent.
    """
    now = now or timezone.now()
    due = list(
        Task.objects.filter(
            reminder_at__lte=now,
            reminded_at__isnull=True,
            status__in=Task.OPEN_STATUSES,
            assignee__isnull=False,
        )
        .select_related("assignee")
        .order_by("reminder_at", "pk")[:1000]
    )
    sent = 0
    for task in due:
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:
                continue
            due_at = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") if task.due_at else ""
            text = f"{task.title} ({due_at})" if due_at else task.title
            notify(workspace, [task.assignee_id], Notification.Verb.REMINDER, text, Task.object_type, task.pk)
            language = task.assignee.language or workspace.default_language
            transaction.on_commit(
                lambda task=task, language=language, due_at=due_at: _mail(task, language, due_at)
            )
            sent += 1
    return sent


def _mail(task: Task, language: str, due_at: str) -> None:
    """The reminder email, in the assignee's language."""
    with translation.override(language):
        subject = _("Reminder: %(title)s") % {"title": task.title}
        lines = [task.title]
        if due_at:
            lines.append(_("Due: %(when)s") % {"when": due_at})
        if task.description:
            lines += ["", task.description]
    try:
        send_mail(subject[:200], "\n".join(lines), None, [task.assignee.email])
    except Exception:  # a mail server outage must not undo the in-app reminder
        logger.exception("could not email the reminder of task %s", task.pk)
