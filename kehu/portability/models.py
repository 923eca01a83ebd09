"""Full workspace exports (background jobs with progress) and the cached data quality figures."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class ExportJob(WorkspaceModel):
    """One full export of the workspace into a zip under ``DATA_DIR/workspace-exports``."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("workspace export")
        verbose_name_plural = _("workspace exports")
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="exportjob_ws_time")]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.rows_done / self.rows_total)) if self.rows_total else 0


class QualitySnapshot(WorkspaceModel):
    """The data quality figures of a workspace for one staleness period, computed by a background job."""

    months = models.PositiveSmallIntegerField(default=6)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "months"], name="qualitysnapshot_unique_months")
        ]

    def __str__(self) -> str:
        return f"quality {self.workspace_id}/{self.months}"
