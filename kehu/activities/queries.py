"""Scoped reads: a record's timeline, activities, tasks and a member's notifications.

Visibility of an activity is its own: the timeline of a record shows the activities linked to it
that the actor may see by the ``activities.activity`` grant (own / team / all, by the activity's
owner and team), once the actor may see the record itself. An activity is not made visible by
being linked to a visible record: a private call note of one rep stays theirs even on a shared
account. Tasks add one rule: a member always sees the tasks assigned to them.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kehu.core.api import decode_cursor, encode_cursor
from kehu.workspaces.access import Actor, scope_filter, visible

from .models import Activity, ActivityLink, Comment, Notification, Task
from .records import scope_through

ACCOUNT = "customers.account"
CONTACT = "customers.contact"
COMMENT = "comment"
TIMELINE_PAGE = 20


def activities_for(actor: Actor) -> QuerySet[Activity]:
    return visible(actor, Activity.objects.select_related("owner"))


def linked_to(object_type: str, object_id: int) -> Q:
    """Activities linked to a record (a subquery through the link index)."""
    return Q(
        pk__in=ActivityLink.objects.filter(object_type=object_type, object_id=object_id).values("activity_id")
    )


def timeline_links(actor: Actor, record) -> list[QuerySet[ActivityLink]]:
    """Links of ``record`` (and, for an account, of its contacts) to activities the actor may see.

    One queryset per index range, never an OR of them: with an OR the planners (SQLite, and
    PostgreSQL at some sizes) fall back to the ``workspace`` prefix of the index, i.e. every link of
    the workspace. The record's own range is ``(workspace, object_type, object_id)`` read newest
    first with a LIMIT; an account's contacts add ``object_type = contact AND object_id IN (SELECT
    id FROM contact WHERE account_id = …)``: one index seek per contact, then a sort of their links.
    """
    branches = [ActivityLink.objects.filter(object_type=record.object_type, object_id=record.pk)]
    if record.object_type == ACCOUNT:
        from kehu.customers.models import Contact

        contact_ids = Contact.objects.filter(account_id=record.pk).values("id")
        branches.append(ActivityLink.objects.filter(object_type=CONTACT, object_id__in=contact_ids))
    scope = scope_through(actor, Activity.object_type, "activity")
    return branches if scope is None else [links.filter(scope) for links in branches]


@dataclass
class Entry:
    """One line of a timeline: an activity or a comment."""

    at: datetime
    source: int  # 1 activity, 0 comment: the tie-breaker after the time
    pk: int
    activity: Activity | None = None
    comment: Comment | None = None

    @property
    def kind(self) -> str:
        return self.activity.kind if self.activity else COMMENT

    @property
    def key(self) -> tuple:
        return (self.at, self.source, self.pk)


def _after(cursor: str | None) -> tuple[datetime, int, int] | None:
    if not cursor:
        return None
    value, pk = decode_cursor(cursor, "timeline")
    try:
        at, source = parse_datetime(value[0]), int(value[1])
    except (TypeError, ValueError, IndexError, KeyError):
        at = None
    if at is None or not isinstance(pk, int):
        from kehu.core.api import InvalidCursor

        raise InvalidCursor()
    return at, source, pk


def timeline(
    actor: Actor, record, *, kind: str = "", cursor: str | None = None, limit: int = TIMELINE_PAGE
) -> tuple[list[Entry], str | None]:
    """Newest first: activities (of one kind, or all) and comments of a record, one keyset page.

    Two streams — links (by occurred_at) and comments (by created_at) — each read at most
    ``limit + 1`` rows after the cursor ``(time, source, id)`` and merged. Three queries per page
    whatever the timeline's length: links, the page's activities, comments.
    """
    after = _after(cursor)
    entries: list[Entry] = []
    if kind != COMMENT:
        seen: set[int] = set()
        rows: list[tuple[int, datetime]] = []
        for index, links in enumerate(timeline_links(actor, record)):
            if kind:
                links = links.filter(kind=kind)
            if after:
                at, source, pk = after
                condition = Q(occurred_at__lt=at)
                if source == 1:
                    condition |= Q(occurred_at=at, activity_id__lt=pk)
                links = links.filter(condition)
            links = links.order_by("-occurred_at", "-activity_id").values_list("activity_id", "occurred_at")
            # The record's own links are unique per activity; contacts' may repeat (two contacts).
            rows += links[: limit + 1] if index == 0 else links.distinct()[: limit + 1]
        for pk, at in rows:
            if pk not in seen:  # on the account and on its contact: shown once
                seen.add(pk)
                entries.append(Entry(at, 1, pk))
    if kind in ("", COMMENT):
        comments = Comment.objects.filter(record_type=record.object_type, record_id=record.pk)
        if after:
            at, source, pk = after
            condition = Q(created_at__lt=at) | (
                Q(created_at=at) if source == 1 else Q(created_at=at, pk__lt=pk)
            )
            comments = comments.filter(condition)
        for comment in comments.select_related("author").order_by("-created_at", "-id")[: limit + 1]:
            entries.append(Entry(comment.created_at, 0, comment.pk, comment=comment))
    entries.sort(key=lambda e: e.key, reverse=True)
    page, more = entries[:limit], len(entries) > limit
    wanted = [e.pk for e in page if e.source == 1]
    if wanted:
        found = Activity.objects.select_related("owner").in_bulk(wanted)
        for entry in page:
            if entry.source == 1:
                entry.activity = found.get(entry.pk)
        page = [e for e in page if e.activity or e.comment]
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor("timeline", [last.at.isoformat(), last.source], last.pk)
    return page, next_cursor


def kind_counts(actor: Actor, record) -> dict[str, int]:
    """How many visible activities of each kind a record's timeline holds (each activity once).

    One query: the branches' (activity, kind) pairs as a UNION (which also removes an activity
    linked to both the account and its contact), counted here.
    """
    branches = [
        links.order_by().values_list("activity_id", "kind") for links in timeline_links(actor, record)
    ]
    pairs = branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0]
    counts: dict[str, int] = {}
    for _pk, kind in pairs:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# --- tasks -----------------------------------------------------------------------------------------


def tasks_for(actor: Actor) -> QuerySet[Task]:
    """Tasks the actor may see: by the task grant, plus every task assigned to them."""
    condition = scope_filter(actor, Task.object_type)
    qs = Task.objects.select_related("assignee")
    if condition is None:
        return qs
    return qs.filter(condition | Q(assignee_id=actor.user.pk))


def day_bounds(actor: Actor, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of today in the workspace's time zone."""
    now = now or timezone.now()
    try:
        zone = zoneinfo.ZoneInfo(actor.workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = timezone.get_current_timezone()
    start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


TABS = ("overdue", "today", "upcoming", "done")


def my_tasks(actor: Actor, tab: str, now: datetime | None = None) -> tuple[QuerySet[Task], str]:
    """The actor's tasks on one tab of "My tasks", with the tab's ordering."""
    now = now or timezone.now()
    _start, end = day_bounds(actor, now)
    mine = Task.objects.select_related("assignee").filter(assignee_id=actor.user.pk)
    open_ = mine.filter(status__in=Task.OPEN_STATUSES)
    if tab == "overdue":
        return open_.filter(due_at__lt=now), "due_at"
    if tab == "today":
        return open_.filter(due_at__gte=now, due_at__lt=end), "due_at"
    if tab == "upcoming":
        return open_.filter(Q(due_at__gte=end) | Q(due_at__isnull=True)), "due_at"
    return mine.filter(status=Task.Status.DONE), "-completed_at"


def tab_counts(actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """Open tasks per tab (done is not counted: it only grows), in one query."""
    now = now or timezone.now()
    _start, end = day_bounds(actor, now)
    open_ = Task.objects.filter(assignee_id=actor.user.pk, status__in=Task.OPEN_STATUSES)
    return open_.aggregate(
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        today=Count("pk", filter=Q(due_at__gte=now, due_at__lt=end)),
        upcoming=Count("pk", filter=Q(due_at__gte=end) | Q(due_at__isnull=True)),
    )


def record_tasks(actor: Actor, record, limit: int = 20) -> list[Task]:
    """Open tasks about a record, soonest due first."""
    qs = tasks_for(actor).filter(
        record_type=record.object_type, record_id=record.pk, status__in=Task.OPEN_STATUSES
    )
    from django.db.models import F

    return list(qs.order_by(F("due_at").asc(nulls_last=True), "pk")[:limit])


# --- notifications ---------------------------------------------------------------------------------


def unread_notifications(actor: Actor) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=actor.user.pk, read_at__isnull=True).order_by(
        "-created_at", "-id"
    )
