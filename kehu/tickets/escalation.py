"""SLA warnings and escalations, run by ``kehu scheduler`` once a minute (``tick``).

For each policy of a workspace, indexed range queries on the stored due dates find the running clocks
(not paused, target not done) that reached the warning or the due time and are not stamped yet:

* warning — ``warn_percent`` of the target has elapsed in business time. Without a stored warning
  instant this is exact all the same: elapsed ≥ W ⇔ business minutes left until the due time ≤ T − W
  ⇔ ``due_at <= add_business_minutes(now, T − W)``; a pause moves the due time and so the warning.
  → notify, stamp ``sla_warned_at``.
* breach — the due time passed. → stamp ``sla_breached_at`` (the first breach) and ``escalated_at``,
  notify, reassign and/or raise the priority as the policy says (through ``tickets.services``, as
  the workspace's system actor), and log an internal entry on the ticket's timeline.

Each stamp is claimed with a conditional UPDATE before acting, so two schedulers or a repeated tick
never notify twice. The first-response target is stamped while it runs; after the first response
the resolution target may warn and escalate once more (its markers then compare with
``first_responded_at``). Batches of ``BATCH`` per policy and kind per run; the rest waits a minute.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from kehu.activities.services import notify, record_system_activity
from kehu.sla import clock
from kehu.sla.models import SlaPolicy
from kehu.sla.services import calendar_spec
from kehu.workspaces.tasks import workspace_task

from .models import Ticket

BATCH = 200
RAISE = {"low": "normal", "normal": "high", "high": "urgent"}
TARGETS = ("first_response", "resolution")


def _running(target: str):
    """Tickets whose clock for ``target`` runs (matches the tickets' partial due-date indexes)."""
    if target == "first_response":
        return Ticket.objects.filter(
            first_responded_at__isnull=True, sla_paused_at__isnull=True, first_response_due_at__isnull=False
        )
    return Ticket.objects.filter(
        resolved_at__isnull=True, sla_paused_at__isnull=True, resolution_due_at__isnull=False
    )


def _unstamped(target: str, marker: str) -> Q:
    """Not yet stamped for this target: the first-response phase uses the marker once; the resolution
    phase again when the marker predates the first response."""
    if target == "first_response":
        return Q(**{f"{marker}__isnull": True})
    return Q(**{f"{marker}__isnull": True}) | Q(
        first_responded_at__isnull=False, **{f"{marker}__lt": F("first_responded_at")}
    )


def _recipients(ticket: Ticket, policy: SlaPolicy) -> list[int]:
    from kehu.workspaces.models import Membership

    config = policy.escalation_config
    ids: list[int] = []
    for item in config["notify"]:
        if item == "assignee" and ticket.owner_id:
            ids.append(ticket.owner_id)
        elif item == "team_manager":
            managers = Membership.objects.filter(is_active=True, role__key="manager")
            if ticket.team_id:
                managers = managers.filter(user__kehu_teams=ticket.team_id)
            ids += list(managers.values_list("user_id", flat=True))
        elif isinstance(item, int):
            ids.append(item)
    return list(dict.fromkeys(ids))


def _claim(ticket: Ticket, target: str, fields: dict, marker: str) -> bool:
    """Stamp the ticket if nobody did meanwhile; True when this run owns the event."""
    qs = Ticket.objects.filter(pk=ticket.pk).filter(_unstamped(target, marker))
    return qs.update(**fields) == 1


def _label(target: str) -> str:
    return _("first response") if target == "first_response" else _("resolution")


def _warn(ticket: Ticket, policy: SlaPolicy, target: str, now: datetime) -> bool:
    with transaction.atomic():
        if not _claim(ticket, target, {"sla_warned_at": now}, "sla_warned_at"):
            return False
        due = getattr(ticket, f"{target}_due_at")
        text = _("Ticket #%(n)s: the %(target)s is due at %(due)s — %(subject)s") % {
            "n": ticket.number,
            "target": _label(target),
            "due": due.astimezone(ZoneInfo(ticket.workspace.time_zone)).strftime("%Y-%m-%d %H:%M"),
            "subject": ticket.subject,
        }
        notify(
            ticket.workspace, _recipients(ticket, policy), "sla_warning", text, Ticket.object_type, ticket.pk
        )
    return True


def _breach(ticket: Ticket, policy: SlaPolicy, target: str, now: datetime) -> bool:
    from . import services

    with transaction.atomic():
        stamps = {"escalated_at": now}
        if ticket.sla_breached_at is None:
            stamps["sla_breached_at"] = now
        if not _claim(ticket, target, stamps, "escalated_at"):
            return False
        for name, value in stamps.items():
            setattr(ticket, name, value)
        config = policy.escalation_config
        actor = services.system_actor(ticket.workspace, "sla")
        recipients = _recipients(ticket, policy)  # before a reassignment: the agent losing it hears too
        done = []
        new_owner = config["reassign_to_user"] or ticket.owner_id
        new_team = config["reassign_to_team"] or ticket.team_id
        if (new_owner, new_team) != (ticket.owner_id, ticket.team_id):
            services.assign(actor, ticket, user=new_owner, team=new_team)
            done.append(_("reassigned"))
        if config["raise_priority"] and ticket.priority in RAISE:
            services.update_ticket(actor, ticket, priority=RAISE[ticket.priority])
            done.append(_("priority raised to %(p)s") % {"p": ticket.get_priority_display()})
        text = _("Ticket #%(n)s breached its %(target)s target — %(subject)s") % {
            "n": ticket.number,
            "target": _label(target),
            "subject": ticket.subject,
        }
        recipients = list(dict.fromkeys(recipients + _recipients(ticket, policy)))
        notify(ticket.workspace, recipients, "sla_breach", text, Ticket.object_type, ticket.pk)
        record_system_activity(
            ticket.workspace,
            links=services.activity_links(ticket),
            kind="note",
            subject=_("SLA breached on ticket #%(n)s: %(target)s")
            % {"n": ticket.number, "target": _label(target)},
            body="; ".join(str(d) for d in done),
            outcome=_("Escalated"),
            source_ref=f"sla.breach:{ticket.pk}:{target}:{now.isoformat()}",
            occurred_at=now,
            owner=ticket.owner,
        )
    return True


def run(workspace, now: datetime | None = None) -> dict[str, int]:
    """Warn and escalate the workspace's due tickets (idempotent); counts of what was done.

    Runs inside the workspace's scope. ``now`` is the clock (tests pass a fixed one)."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0}
    policies = SlaPolicy.objects.select_related("calendar").prefetch_related("notify_users").order_by("id")
    with translation.override(workspace.default_language):
        for policy in policies:
            spec = calendar_spec(policy.calendar)
            for target in TARGETS:
                due = f"{target}_due_at"
                late = (
                    _running(target)
                    .filter(sla_policy=policy, **{f"{due}__lte": now})
                    .filter(_unstamped(target, "escalated_at"))
                    .select_related("workspace", "owner")
                    .order_by(due, "id")[:BATCH]
                )
                for ticket in late:
                    counts["breached"] += _breach(ticket, policy, target, now)
                minutes = getattr(policy, f"{target}_minutes")
                if not minutes:
                    continue
                left = minutes - minutes * policy.warn_percent // 100
                threshold = clock.add_business_minutes(spec, now, left)
                soon = (
                    _running(target)
                    .filter(sla_policy=policy, **{f"{due}__lte": threshold, f"{due}__gt": now})
                    .filter(_unstamped(target, "sla_warned_at"))
                    .select_related("workspace")
                    .order_by(due, "id")[:BATCH]
                )
                for ticket in soon:
                    counts["warned"] += _warn(ticket, policy, target, now)
    return counts


@workspace_task
def escalate_tickets(workspace) -> dict[str, int]:
    """The scheduled job: ``run`` for one workspace."""
    return run(workspace)


def tick() -> int:
    """Enqueue the escalation job of each workspace that has SLA policies; how many were enqueued."""
    with scopes_disabled():
        workspace_ids = list(SlaPolicy.objects.order_by().values_list("workspace_id", flat=True).distinct())
    for workspace_id in workspace_ids:
        escalate_tickets.enqueue(workspace_id)
    return len(workspace_ids)
