"""Business calendars (weekly hours, holidays, adjusted workdays) and SLA policies, per workspace.

The arithmetic lives in ``clock`` and works on a ``CalendarSpec`` built from these rows
(``services.calendar_spec``); nothing here computes time.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)


def default_weekly_hours() -> dict:
    """Mon–Fri 09:00–12:00 and 13:00–18:00, closed at the weekend."""
    day = [["09:00", "12:00"], ["13:00", "18:00"]]
    return {key: (list(day) if i < 5 else []) for i, key in enumerate(WEEKDAYS)}


class BusinessCalendar(WorkspaceModel):
    """When the service desk is open: weekly hours in a time zone, plus dated exceptions."""

    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    # {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], …, "sun": []}
    weekly_hours = models.JSONField(_("weekly hours"), default=default_weekly_hours)
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="sla_calendar_unique_name"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="sla_calendar_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarException(WorkspaceModel):
    """A date that differs from the weekly hours: a holiday (closed) or an adjusted working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (closed)")
        WORKDAY = "workday", _("Working day")

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions", verbose_name=_("calendar")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=100, blank=True)
    # A working day's hours ([["09:00", "18:00"]]); empty = the calendar's normal weekday hours.
    hours = models.JSONField(_("hours"), default=list, blank=True)
    # Where the row came from ("cn-2026" for the loaded State Council schedule; empty = typed in).
    source = models.CharField(_("source"), max_length=20, blank=True, editable=False)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        # One exception per date and calendar; its index also serves the calendar's date-range reads.
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "calendar", "date"], name="sla_exception_ws_unique_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name or self.get_kind_display()}"


class SlaPolicy(WorkspaceModel):
    """Targets in business minutes for tickets that match the conditions; the first match wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # {"priority": [...], "grade": [...], "channel": [...], "category": [...], "type": [...]}; empty = any
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    first_response_minutes = models.PositiveIntegerField(
        _("first response target (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution target (business minutes)"), null=True, blank=True
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("calendar")
    )
    # xgettext:no-python-format
    warn_percent = models.PositiveSmallIntegerField(_("warn at (% of the target)"), default=80)
    # {"notify": ["assignee", "team_manager"], "raise_priority": bool}. The users to notify and the
    # reassignment targets are relations below (not ids in JSON), so exports and imports keep them;
    # ``escalation_config`` gives the combined form of the interface.
    escalation = models.JSONField(_("escalation"), default=dict, blank=True)
    notify_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("notify users")
    )
    reassign_to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reassign to user"),
    )
    reassign_to_team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reassign to team"),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        indexes = [models.Index(fields=["workspace", "active", "position"], name="sla_policy_ws_order")]

    def __str__(self) -> str:
        return self.name

    @property
    def escalation_config(self) -> dict:
        """The escalation in the agreed shape: notify (roles + user ids), reassign targets, raise_priority.

        Reads ``notify_users`` (prefetch it for lists)."""
        roles = [r for r in (self.escalation or {}).get("notify", []) if isinstance(r, str)]
        return {
            "notify": roles + sorted(u.pk for u in self.notify_users.all()),
            "reassign_to_user": self.reassign_to_user_id,
            "reassign_to_team": self.reassign_to_team_id,
            "raise_priority": bool((self.escalation or {}).get("raise_priority")),
        }
