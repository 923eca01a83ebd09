"""Saved list views (filters, sort, columns) and background list jobs (large exports, bulk changes)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class SavedView(WorkspaceModel):
    """A named list state of one object type: personal to its owner or shared with the workspace."""

    class Sharing(models.TextChoices):
        PERSONAL = "personal", _("Only me")
        WORKSPACE = "workspace", _("Everyone in the workspace")

    object_type = models.CharField(_("object type"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    shared = models.CharField(
        _("shared with"), max_length=10, choices=Sharing.choices, default=Sharing.PERSONAL
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    ordering = models.CharField(_("sort"), max_length=60, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    # Personal default: opens for its owner; shared default: opens for everyone without their own.
    is_default = models.BooleanField(_("open by default"), default=False)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        indexes = [
            models.Index(fields=["workspace", "object_type", "owner"], name="savedview_ws_owner"),
            models.Index(fields=["workspace", "object_type", "shared"], name="savedview_ws_shared"),
        ]

    def __str__(self) -> str:
        return self.name


class ListJob(WorkspaceModel):
    """A list job run in the background: an export (with its file) or a bulk change (with its result)."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        BULK = "bulk", _("Bulk change")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    object_type = models.CharField(_("object type"), max_length=60)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # What to run again in the worker: list state (q, filters, ordering, columns), format or action.
    params = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    message = models.TextField(_("result"), blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("list job")
        verbose_name_plural = _("list jobs")
        indexes = [models.Index(fields=["workspace", "requested_by", "-created_at"], name="listjob_ws_user")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type} ({self.status})"
