"""The ticket's side of SLAs: choosing the policy, setting, pausing and resuming the due dates (with
``kehu.sla``'s business-minute arithmetic), and the badge computed from the row's columns only.
"""

from datetime import datetime

from django.utils import timezone

from kehu.sla import clock
from kehu.sla.services import calendar_spec, match_policy, targets

# Worst first: the badge of a ticket is the worst of its two targets' states.
SEVERITY = ("breached", "paused", "warning", "ok", "met", "")


def calendar_of(policy) -> clock.CalendarSpec:
    return calendar_spec(policy.calendar)


def add_minutes(spec: clock.CalendarSpec, start: datetime, minutes: int) -> datetime:
    return clock.add_business_minutes(spec, start, minutes)


def apply_policy(ticket, *, grade: str, start: datetime | None = None) -> None:
    """Choose the ticket's policy by its conditions and set both due dates from ``start`` (not saved)."""
    policy = match_policy(
        ticket.workspace,
        priority=ticket.priority,
        grade=grade,
        channel=ticket.channel,
        category=ticket.category,
        type=ticket.type,
    )
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    due = targets(policy, start or ticket.created_at)
    # Once answered, the first-response target is history (met or missed): a re-chosen policy keeps it,
    # so the page and the dashboard's "first response within SLA" still count it.
    if ticket.first_responded_at is None:
        ticket.first_response_due_at = due["first_response_due_at"]
    ticket.resolution_due_at = due["resolution_due_at"]


def worked_minutes(
    spec: clock.CalendarSpec,
    start: datetime,
    at: datetime,
    paused_minutes: int = 0,
    paused_at: datetime | None = None,
) -> int:
    """Business minutes from ``start`` to ``at`` less the time paused: ``paused_minutes`` (the pauses
    that ended before) plus a pause still running since ``paused_at``. Interval arithmetic only."""
    paused = paused_minutes
    if paused_at is not None and paused_at < at:
        paused += clock.business_minutes_between(spec, paused_at, at)
    return max(0, clock.business_minutes_between(spec, start, at) - paused)


def business_minutes_to(ticket, at: datetime) -> int | None:
    """The business minutes the ticket was with the team from its opening to ``at``, on its SLA
    policy's calendar: pending / on-hold time and the time it spent resolved before a reopening
    (``sla_paused_minutes`` and a running pause) left out. None without an SLA policy."""
    if not ticket.sla_policy_id:
        return None
    spec = calendar_of(ticket.sla_policy)
    return worked_minutes(spec, ticket.created_at, at, ticket.sla_paused_minutes, ticket.sla_paused_at)


def pause(ticket, now: datetime) -> None:
    """Stop the clock (status pending / on hold); no-op when it is stopped already or there is no SLA."""
    if ticket.sla_policy_id and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def shift(ticket, since: datetime, now: datetime) -> int:
    """Move the running due dates later by the business minutes between ``since`` and ``now``."""
    if not ticket.sla_policy_id:
        return 0
    spec = calendar_of(ticket.sla_policy)
    minutes = clock.business_minutes_between(spec, since, now)
    if minutes:
        if ticket.first_response_due_at and ticket.first_responded_at is None:
            ticket.first_response_due_at = add_minutes(spec, ticket.first_response_due_at, minutes)
        if ticket.resolution_due_at and ticket.resolved_at is None:
            ticket.resolution_due_at = add_minutes(spec, ticket.resolution_due_at, minutes)
        ticket.sla_paused_minutes += minutes
    return minutes


def resume(ticket, now: datetime) -> int:
    """Restart a paused clock: the due dates move by the paused business minutes; how many."""
    if ticket.sla_paused_at is None:
        return 0
    minutes = shift(ticket, ticket.sla_paused_at, now)
    ticket.sla_paused_at = None
    return minutes


def sla_state(ticket, now: datetime | None = None) -> str:
    """met | ok | warning | breached | paused, or "" without an SLA — from the row's columns only
    (the warning instant is the escalation job's ``sla_warned_at`` stamp)."""
    if not ticket.sla_policy_id:
        return ""
    if ticket.sla_breached_at is not None:
        return "breached"
    now = now or timezone.now()
    paused = ticket.sla_paused_at is not None
    # The warning stamp belongs to the target running now: the first response until answered, then the
    # resolution (a stamp from before the first response was the first response's).
    first_running = ticket.first_response_due_at is not None and ticket.first_responded_at is None
    warned = ticket.sla_warned_at
    resolution_warned = (
        None
        if first_running
        or warned is None
        or (ticket.first_responded_at is not None and warned < ticket.first_responded_at)
        else warned
    )
    states = [
        clock.status(
            now,
            due_at=ticket.first_response_due_at,
            warn_at=warned if first_running else None,
            done_at=ticket.first_responded_at,
            paused=paused,
        ),
        clock.status(
            now,
            due_at=ticket.resolution_due_at,
            warn_at=resolution_warned,
            done_at=ticket.resolved_at,
            paused=paused,
        ),
    ]
    return min(states, key=SEVERITY.index)


def next_due(ticket) -> datetime | None:
    """The due date the agent works against now: first response until answered, then resolution."""
    if ticket.first_response_due_at and ticket.first_responded_at is None:
        return ticket.first_response_due_at
    return ticket.resolution_due_at if ticket.resolved_at is None else None
