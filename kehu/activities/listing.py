"""Activities and tasks described for the list machinery (``kehu.listviews``): filterable fields,
columns, sort keys and bulk actions (which run through this app's services).

Both lists are big (10M activities): every offered sort key is served by an index starting with
``workspace`` (see the models' Meta), and the names of linked records are read by correlated
subqueries limited to the page's rows, each narrowed to the records the member may see.
"""

from django.db.models import Case, CharField, Exists, OuterRef, Q, Subquery, TextField, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.core.models import OwnedRecord
from kehu.listviews.registry import BulkAction, Column, ListConfig, ListField, register, stamp_cell
from kehu.workspaces.access import Actor, visible

from . import services
from .models import Activity, ActivityLink, Task
from .queries import ACCOUNT, activities_for, day_bounds, tasks_for
from .records import record_model

LABEL_FIELDS = ("name", "title", "number", "subject")  # what names a linked record, first found


# --- activities ------------------------------------------------------------------------------------


def _account_links(actor: Actor):
    """Links of the outer activity to accounts the member may see."""
    from kehu.customers.models import Account

    seen = visible(actor, Account.objects.filter(pk=OuterRef("object_id")))
    return ActivityLink.objects.filter(activity_id=OuterRef("pk"), object_type=ACCOUNT).filter(Exists(seen))


def activity_records(actor: Actor, q: str = ""):
    """Activities the member may see, each with its first visible linked account (id and name)."""
    from kehu.customers.models import Account

    records = activities_for(actor).annotate(
        linked_account_id=Subquery(_account_links(actor).order_by("object_id").values("object_id")[:1])
    )
    records = records.annotate(
        linked_account_name=Subquery(
            Account.objects.filter(pk=OuterRef("linked_account_id")).values("name")[:1]
        )
    )
    if q := q.strip():
        records = records.filter(Q(subject__icontains=q) | Q(outcome__icontains=q))
    return records


def _linked_account(actor: Actor, lookup: str, value: str) -> Q:
    """Activities linked to a (visible) account whose name matches."""
    from kehu.customers.models import Account

    if lookup == "isnull":
        has = Q(pk__in=ActivityLink.objects.filter(object_type=ACCOUNT).values("activity_id"))
        return ~has if value.lower() in {"true", "1", "yes", "on"} else has
    operator = {"contains": "icontains", "startswith": "istartswith", "eq": "exact", "ne": "exact"}[lookup]
    accounts = visible(actor, Account.objects.filter(**{f"name__{operator}": value})).values("pk")
    links = ActivityLink.objects.filter(object_type=ACCOUNT, object_id__in=accounts).values("activity_id")
    return ~Q(pk__in=links) if lookup == "ne" else Q(pk__in=links)


def _user(name: str):
    return lambda r: str(getattr(r, name)) if getattr(r, f"{name}_id") else ""


def _account_cell(record, context) -> str:
    if not record.linked_account_id:
        return "—"
    url = reverse("customers:account-detail", args=[record.linked_account_id])
    return format_html('<a href="{}">{}</a>', url, record.linked_account_name)


def _kind_cell(record, context) -> str:
    channel = f" · {record.get_channel_display()}" if record.channel else ""
    return format_html('<span class="badge badge-muted">{}{}</span>', record.get_kind_display(), channel)


occurred_value, occurred_html = stamp_cell("occurred_at", with_time=True)
created_value, created_html = stamp_cell("created_at")
updated_value, updated_html = stamp_cell("updated_at")

ACTIVITY_LIST = ListConfig(
    object_type=Activity.object_type,
    model=Activity,
    label=_("Activities"),
    list_url_name="activities:activity-list",
    queryset=activity_records,
    fields=[
        ListField("kind", _("Kind"), "choice", choices=tuple(Activity.Kind.choices)),
        ListField("channel", _("Channel"), "choice", choices=tuple(Activity.Channel.choices)),
        ListField("direction", _("Direction"), "choice", choices=tuple(Activity.Direction.choices)),
        ListField("occurred_at", _("Time"), "datetime"),
        ListField("subject", _("Subject"), "text"),
        ListField("outcome", _("Outcome"), "text"),
        ListField("duration", _("Duration (seconds)"), "number", nullable=True),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("source", _("Source"), "choice", choices=tuple(Activity.Source.choices)),
        ListField(
            "account.name",
            _("Account name"),
            "text",
            condition=_linked_account,
            only=("contains", "eq", "ne", "startswith", "isnull"),
        ),
        ListField("created_at", _("Created"), "datetime"),
    ],
    columns=[
        Column("occurred_at", _("Time"), occurred_value, occurred_html, sort="occurred_at"),
        Column("kind", _("Kind"), lambda r: r.get_kind_display(), _kind_cell),
        Column("channel", _("Channel"), lambda r: r.get_channel_display() if r.channel else ""),
        Column("direction", _("Direction"), lambda r: r.get_direction_display()),
        Column("subject", _("Subject"), lambda r: r.subject),
        Column("outcome", _("Outcome"), lambda r: r.outcome),
        Column("account", _("Account"), lambda r: r.linked_account_name or "", _account_cell),
        Column(
            "duration",
            _("Duration (minutes)"),
            lambda r: r.duration_minutes if r.duration is not None else None,
        ),
        Column("owner", _("Owner"), _user("owner")),
        Column("source", _("Source"), lambda r: r.get_source_display()),
        Column("created_at", _("Created"), created_value, created_html),
    ],
    default_columns=["occurred_at", "kind", "subject", "account", "outcome", "owner"],
    # Only the time: (workspace, -occurred_at, -id) serves both directions. Another key (created_at,
    # duration …) would sort the workspace's 10M rows for every page, so none is offered.
    orderings={"occurred_at": "occurred_at"},
    default_ordering="-occurred_at",
    bulk_actions=[
        BulkAction(
            "assign_owner",
            _("Assign owner"),
            "change",
            lambda actor, record, value: services.update_activity(actor, record, owner_id=value),
            "user",
        ),
        BulkAction(
            "delete",
            _("Delete"),
            "delete",
            lambda actor, record, value: services.delete_activity(actor, record),
        ),
    ],
)


# --- tasks -----------------------------------------------------------------------------------------


def _label_field(model) -> str | None:
    # Text fields only: the labels are one CASE, whose branches must share a type on PostgreSQL
    # (a ticket's ``number`` is an integer; its ``subject`` names it).
    text = {f.name for f in model._meta.get_fields() if isinstance(f, CharField | TextField)}
    return next((n for n in LABEL_FIELDS if n in text), None)


def _record_label(actor: Actor):
    """The name of each task's linked record (if the member may see it): one CASE over the record
    types registered with the permissions, each branch a correlated subquery on the record's pk."""
    from kehu.workspaces.permissions import OBJECT_TYPES

    branches = []
    for key in OBJECT_TYPES:
        model = record_model(key)
        if model is None or not issubclass(model, OwnedRecord) or model is Task:
            continue
        label = _label_field(model)
        if label is None:
            continue
        names = visible(actor, model.objects.filter(pk=OuterRef("record_id"))).values(label)[:1]
        branches.append(When(record_type=key, then=Subquery(names)))
    return Case(*branches, default=None, output_field=CharField()) if branches else None


def task_records(actor: Actor, q: str = ""):
    """Tasks the member may see (and every task assigned to them), with the linked record's name."""
    records = tasks_for(actor).select_related("owner")
    label = _record_label(actor)
    if label is not None:
        records = records.annotate(record_label=label)
    if q := q.strip():
        records = records.filter(title__icontains=q)
    return records


DUE_STATES = (
    ("overdue", _("Overdue")),
    ("today", _("Due today")),
    ("upcoming", _("Upcoming")),
    ("none", _("No due date")),
)


def _due_state(actor: Actor, lookup: str, value: str) -> Q:
    """Open tasks by due date relative to now (the quick tabs' conditions, in the workspace's day)."""
    now = timezone.now()
    _start, end = day_bounds(actor, now)
    open_ = Q(status__in=Task.OPEN_STATUSES)
    condition = {
        "overdue": open_ & Q(due_at__lt=now),
        "today": open_ & Q(due_at__gte=now, due_at__lt=end),
        "upcoming": open_ & (Q(due_at__gte=end) | Q(due_at__isnull=True)),
        "none": Q(due_at__isnull=True),
    }[value]
    return ~condition if lookup == "ne" else condition


def _record_cell(record, context) -> str:
    label = getattr(record, "record_label", None)
    if not record.record_type or not label:
        return "—"
    from .views import record_url

    url = record_url(record.record_type, record.record_id)
    return format_html('<a href="{}">{}</a>', url, label) if url else format_html("{}", label)


def _title_cell(record, context) -> str:
    link = format_html(
        '<a href="{}"{}>{}</a>',
        reverse("activities:task-edit", args=[record.pk]),
        "" if record.is_open else format_html(' class="{}"', "muted"),
        record.title,
    )
    if record.priority in (Task.Priority.HIGH, Task.Priority.URGENT):
        link = format_html(
            '{} <span class="badge badge-warning">{}</span>', link, record.get_priority_display()
        )
    return link


def _status_cell(record, context) -> str:
    if not record.is_open:
        return format_html('<span class="badge badge-success">{}</span>', record.get_status_display())
    # Quick completion without leaving the list (htmx swaps the cell; bulk "Complete" needs no script).
    return format_html(
        '<span class="badge">{}</span> <button type="button" class="btn btn-sm task-complete" hx-post="{}" '
        'hx-vals=\'{{"cell": "1"}}\' hx-target="closest td" title="{}" aria-label="{}: {}">✓</button>',
        record.get_status_display(),
        reverse("activities:task-complete", args=[record.pk]),
        _("Mark done"),
        _("Mark done"),
        record.title,
    )


def _due_cell(record, context) -> str:
    if record.due_at is None:
        return "—"
    shown = timezone.localtime(record.due_at).strftime("%Y-%m-%d %H:%M")
    css = "error" if record.is_overdue else "muted"
    return format_html('<time class="{}" datetime="{}">{}</time>', css, record.due_at.isoformat(), shown)


completed_value, completed_html = stamp_cell("completed_at")

TASK_LIST = ListConfig(
    object_type=Task.object_type,
    model=Task,
    label=_("Tasks"),
    list_url_name="activities:my-tasks",
    queryset=task_records,
    fields=[
        ListField("title", _("Title"), "text"),
        ListField("status", _("Status"), "choice", choices=tuple(Task.Status.choices)),
        ListField("priority", _("Priority"), "choice", choices=tuple(Task.Priority.choices)),
        ListField("due_at", _("Due"), "datetime", nullable=True),
        ListField(
            "due_state", _("Due state"), "choice", choices=DUE_STATES, condition=_due_state, only=("eq", "ne")
        ),
        ListField("assignee", _("Assignee"), "user", path="assignee_id", nullable=True),
        ListField("owner", _("Owner"), "user", path="owner_id", nullable=True),
        ListField("completed_at", _("Completed"), "datetime", nullable=True),
        ListField("created_at", _("Created"), "datetime"),
        ListField("updated_at", _("Updated"), "datetime"),
    ],
    columns=[
        Column("status", _("Status"), lambda r: r.get_status_display(), _status_cell),
        Column("title", _("Title"), lambda r: r.title, _title_cell),
        Column("priority", _("Priority"), lambda r: r.get_priority_display()),
        Column("due_at", _("Due"), lambda r: r.due_at, _due_cell, sort="due_at"),
        Column("assignee", _("Assignee"), _user("assignee")),
        Column("record", _("About"), lambda r: getattr(r, "record_label", None) or "", _record_cell),
        Column("owner", _("Owner"), _user("owner")),
        Column("completed_at", _("Completed"), completed_value, completed_html, sort="completed_at"),
        Column("created_at", _("Created"), created_value, created_html, sort="created_at"),
        Column("updated_at", _("Updated"), updated_value, updated_html),
    ],
    default_columns=["status", "title", "due_at", "assignee", "record"],
    # due_at: (workspace, due_at, id); created_at: (workspace, -created_at, -id); completed_at only
    # on the "Done" tab, which is one assignee's tasks (the assignee index narrows it first).
    orderings={"due_at": "due_at", "created_at": "created_at", "completed_at": "completed_at"},
    default_ordering="due_at",
    bulk_actions=[
        BulkAction(
            "reassign",
            _("Reassign"),
            "change",
            lambda actor, record, value: services.update_task(actor, record, assignee_id=value),
            "user",
        ),
        BulkAction(
            "complete",
            _("Complete"),
            "change",
            lambda actor, record, value: services.complete_task(actor, record),
        ),
        BulkAction(
            "delete", _("Delete"), "delete", lambda actor, record, value: services.delete_task(actor, record)
        ),
    ],
)


# The quick tabs of the tasks page: filter specs (so a tab can be refined and saved as a view).
def _mine(*conditions: dict) -> dict:
    return {"op": "and", "conditions": [{"field": "assignee", "lookup": "eq", "value": "me"}, *conditions]}


TASK_TABS = {
    "mine": (
        _("My open tasks"),
        _mine({"field": "status", "lookup": "in", "value": list(Task.OPEN_STATUSES)}),
        "due_at",
    ),
    "overdue": (_("Overdue"), _mine({"field": "due_state", "lookup": "eq", "value": "overdue"}), "due_at"),
    "today": (_("Today"), _mine({"field": "due_state", "lookup": "eq", "value": "today"}), "due_at"),
    "upcoming": (_("Upcoming"), _mine({"field": "due_state", "lookup": "eq", "value": "upcoming"}), "due_at"),
    "done": (
        _("Done"),
        _mine({"field": "status", "lookup": "eq", "value": Task.Status.DONE}),
        "-completed_at",
    ),
}


def register_lists() -> None:
    register(ACTIVITY_LIST)
    register(TASK_LIST)
