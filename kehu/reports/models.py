"""Saved reports (a grouped query over one object type), dashboards of report tiles, and their sharing.

A report's ``definition`` is JSON (validated by ``kehu.reports.engine.clean_definition``)::

    {"filters": <listviews filter spec>, "group_by": [{"field": "grade"},
     {"field": "created_at", "bucket": "month"}], "aggregates": [{"fn": "count"},
     {"fn": "sum", "field": "total_amount"}], "date_field": "created_at", "sort": "value_desc",
     "limit": 50}
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class Sharing(models.TextChoices):
    PRIVATE = "private", _("Only me")
    TEAM = "team", _("My team")
    WORKSPACE = "workspace", _("Everyone in the workspace")


class Chart(models.TextChoices):
    BAR = "bar", _("Bar")
    LINE = "line", _("Line")
    PIE = "pie", _("Pie")
    FUNNEL = "funnel", _("Funnel")
    TREEMAP = "treemap", _("Treemap")
    TABLE = "table", _("Table")


class Shared(WorkspaceModel):
    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    sharing = models.CharField(
        _("shared with"), max_length=10, choices=Sharing.choices, default=Sharing.PRIVATE
    )
    team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team"),
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Report(Shared):
    object_type = models.CharField(_("object type"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    chart = models.CharField(_("chart"), max_length=10, choices=Chart.choices, default=Chart.BAR)
    definition = models.JSONField(_("definition"), default=dict, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [
            models.Index(fields=["workspace", "owner"], name="report_ws_owner"),
            models.Index(fields=["workspace", "sharing"], name="report_ws_sharing"),
        ]


class Dashboard(Shared):
    class Schedule(models.TextChoices):
        NONE = "", _("Not sent")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly (Mondays)")

    # "customer_value" for the default dashboard a workspace gets on first visit; empty otherwise.
    key = models.CharField(_("key"), max_length=40, blank=True)
    schedule = models.CharField(_("email schedule"), max_length=10, choices=Schedule.choices, blank=True)
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("recipients")
    )
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        indexes = [
            models.Index(fields=["workspace", "owner"], name="dashboard_ws_owner"),
            models.Index(fields=["workspace", "key"], name="dashboard_ws_key"),
            models.Index(fields=["schedule", "last_sent_at"], name="dashboard_schedule"),
        ]


class Tile(WorkspaceModel):
    """One place on a dashboard: a saved report, or a special tile (``kind``) of the analytics apps."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="tiles")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("special tile"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=120, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    width = models.PositiveSmallIntegerField(_("width"), default=1)  # grid columns: 1 or 2

    class Meta:
        verbose_name = _("dashboard tile")
        verbose_name_plural = _("dashboard tiles")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["workspace", "dashboard", "position"], name="tile_ws_dash_pos")]
