"""Interactions (activities) on any record, comments, notifications, tasks and follow-up plans.

Records of other apps are named by ``(object_type, object_id)`` — the permission registry's key
("customers.account") and the primary key — so activities never import the apps above them and
any later object (opportunity, ticket, campaign) can be linked without a schema change.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from kehu.core.models import OwnedRecord, WorkspaceModel


class Activity(OwnedRecord):
    """One interaction on any channel: a call, an email, a meeting, a visit, a note, a message."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        NOTE = "note", _("Note")
        MESSAGE = "message", _("Message")

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")
        CHAT = "chat", _("Chat")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    class Source(models.TextChoices):
        MANUAL = "manual", _("By hand")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    object_type = "activities.activity"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    direction = models.CharField(
        _("direction"), max_length=20, choices=Direction.choices, default=Direction.OUTBOUND
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("notes"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("participants")
    )
    external_participants = models.CharField(_("external participants"), max_length=500, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    # What created a system entry ("service.ticketreply:42"), so a re-sent event is not logged twice.
    source_ref = models.CharField(_("source reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # Serves the activity list's default (and only) sort, newest first: at 10M activities a
            # page is one index range scan, never a sort of the workspace's rows.
            models.Index(fields=["workspace", "-occurred_at", "-id"], name="activity_ws_occurred"),
            models.Index(fields=["workspace", "owner", "-occurred_at"], name="activity_ws_owner"),
            models.Index(fields=["workspace", "source", "source_ref"], name="activity_ws_source"),
        ]

    def __str__(self) -> str:
        return self.subject or str(self.get_kind_display())

    @property
    def duration_minutes(self) -> int:
        return round((self.duration or 0) / 60)


class ActivityLink(models.Model):
    """Activity ↔ record. ``occurred_at`` and ``kind`` are copied from the activity so the timeline of
    one record (optionally of one kind) is one range scan of the index below, newest first, without
    touching the activities table until the page is known.

    Deliberately not a ``WorkspaceModel``: ~10 rows per contact at 1M contacts, so no audit stamps.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="links")
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20)

    objects = ScopedManager(workspace="workspace")

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "object_type", "object_id", "-occurred_at", "-activity"],
                name="activitylink_timeline",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "activity", "object_type", "object_id"], name="activitylink_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} → {self.object_type}:{self.object_id}"


class Comment(WorkspaceModel):
    """A comment on any record; ``@name`` mentions notify workspace members."""

    # Not ``object_type``/``object_id``: the audit trail reads ``object_type`` as the row's own type.
    record_type = models.CharField(_("record type"), max_length=60)
    record_id = models.BigIntegerField(_("record id"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [
            models.Index(
                fields=["workspace", "record_type", "record_id", "-created_at", "-id"], name="comment_record"
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]


# Notification verbs of higher apps (e.g. the SLA escalation's warning and breach) with their labels,
# registered in their AppConfig.ready(): the menu shows a label, never a raw key, and this app needs no
# knowledge of them (nor a migration of the column's choices per new verb).
EXTRA_VERBS: dict[str, object] = {}


def register_notification_verb(verb: str, label) -> None:
    """A higher app's notification verb (at most 20 characters) and its (lazy) label."""
    EXTRA_VERBS[verb] = label


class Notification(models.Model):
    """Something a member should look at: a mention, an assignment, a due task."""

    class Verb(models.TextChoices):
        MENTION = "mention", _("mentioned you")
        ASSIGNED = "assigned", _("assigned a task to you")
        REMINDER = "reminder", _("task reminder")

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verb = models.CharField(max_length=20, choices=Verb.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    text = models.CharField(max_length=300)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(workspace="workspace")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "user", "read_at", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def verb_label(self) -> str:
        """The verb as shown: this app's choices, a registered verb's label, else the key itself."""
        if self.verb in self.Verb.values:
            return self.get_verb_display()
        return str(EXTRA_VERBS.get(self.verb, self.verb))


class FollowUpPlan(WorkspaceModel):
    """A recurring care rule: for every matching record, create a task each period (or after an event)."""

    class Trigger(models.TextChoices):
        EVERY = "every", _("Every N days/weeks/months")
        AFTER_FIRST_ORDER = "after_first_order", _("N days after the first order")

    class Unit(models.TextChoices):
        DAY = "day", _("days")
        WEEK = "week", _("weeks")
        MONTH = "month", _("months")

    class Target(models.TextChoices):
        ACCOUNT = "customers.account", _("Accounts")
        CONTACT = "customers.contact", _("Contacts")

    class AssigneeMode(models.TextChoices):
        OWNER = "owner", _("The record's owner")
        USER = "user", _("A fixed member")

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    record_type = models.CharField(
        _("records"), max_length=60, choices=Target.choices, default=Target.ACCOUNT
    )
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    trigger = models.CharField(_("trigger"), max_length=30, choices=Trigger.choices, default=Trigger.EVERY)
    interval = models.PositiveIntegerField(_("every / after"), default=1)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.MONTH)
    task_title = models.CharField(_("task title"), max_length=200)
    task_description = models.TextField(_("task description"), blank=True)
    due_in_days = models.PositiveIntegerField(_("due in (days)"), default=3)
    assignee_mode = models.CharField(
        _("assign to"), max_length=10, choices=AssigneeMode.choices, default=AssigneeMode.OWNER
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("member"),
    )
    priority = models.CharField(_("priority"), max_length=10, default="normal")
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        indexes = [models.Index(fields=["workspace", "active"], name="followupplan_ws_active")]

    def __str__(self) -> str:
        return self.name


class Task(OwnedRecord):
    """Something to do, for someone, by a date; optionally about one record."""

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    object_type = "activities.task"

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    reminder_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)
    # The record the task is about (``object_type`` is the task's own permission key).
    record_type = models.CharField(_("record type"), max_length=60, blank=True)
    record_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    created_by_plan = models.ForeignKey(
        FollowUpPlan,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("follow-up plan"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["workspace", "assignee", "status", "due_at"], name="task_ws_assignee"),
            models.Index(fields=["workspace", "record_type", "record_id", "status"], name="task_ws_record"),
            models.Index(
                fields=["workspace", "reminder_at"],
                name="task_ws_reminder",
                condition=models.Q(reminded_at__isnull=True),
            ),
            models.Index(fields=["workspace", "-created_at", "-id"], name="task_ws_created"),
            # The task list's default sort (soonest due first, undated last: ASC NULLS LAST is the
            # index's natural order on PostgreSQL), so the "All tasks" page reads one index range.
            models.Index(fields=["workspace", "due_at", "id"], name="task_ws_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()


class FollowUpRun(models.Model):
    """Proof that a plan made its task for one record in one period: the unique key makes runs idempotent."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(FollowUpPlan, on_delete=models.CASCADE, related_name="runs")
    object_id = models.BigIntegerField()
    period_key = models.CharField(max_length=40)
    task = models.ForeignKey(Task, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(workspace="workspace")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "plan", "object_id", "period_key"], name="followuprun_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.object_id}:{self.period_key}"
