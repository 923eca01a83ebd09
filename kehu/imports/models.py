"""Import jobs, their lineage (which record came from which row) and saved column mappings.

A job's ``cursor`` is the last source row whose batch was committed; it is written in the same
transaction as the batch, so a killed worker leaves no half batch and a resumed job continues
exactly after it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class ImportJob(WorkspaceModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        UNDOING = "undoing", _("Undoing")
        UNDONE = "undone", _("Undone")

    class Mode(models.TextChoices):
        CREATE = "create", _("Create new records only")
        UPDATE = "update", _("Update existing records only")
        UPSERT = "upsert", _("Create or update")

    target = models.CharField(_("object"), max_length=40)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.CREATE)
    match_key = models.CharField(_("match on"), max_length=40, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    cancel_requested = models.BooleanField(default=False)
    # The uploaded file, relative to DATA_DIR/imports; removed when the job is deleted.
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(max_length=500)
    file_size = models.BigIntegerField(default=0)
    file_kind = models.CharField(max_length=10, default="csv")  # csv | xlsx
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # {column header: field key}; options: region, date_order, create_accounts …
    mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveBigIntegerField(null=True, blank=True)
    cursor = models.PositiveBigIntegerField(_("last committed row"), default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    created_count = models.PositiveBigIntegerField(default=0)
    updated_count = models.PositiveBigIntegerField(default=0)
    skipped_count = models.PositiveBigIntegerField(default=0)
    error_count = models.PositiveBigIntegerField(default=0)
    corrected_count = models.PositiveBigIntegerField(default=0)
    rows_per_second = models.FloatField(default=0)
    run_seconds = models.FloatField(default=0)  # time spent in batches (sums over resumes)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="importjob_ws_created")]

    def __str__(self) -> str:
        return self.file_name

    @property
    def progress(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.cursor / self.total_rows))

    @property
    def eta_seconds(self) -> int | None:
        if not self.total_rows or not self.rows_per_second or self.status != self.Status.RUNNING:
            return None
        return round(max(0, self.total_rows - self.cursor) / self.rows_per_second)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.UNDOING)


def _unindexed_user(verbose_name):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=verbose_name,
    )


def _set_users_indexes(prefix: str) -> list[models.Index]:
    """Partial indexes of the stamps' users (a deleted user's rows are found by them): empty while
    the rows leave them NULL, so a row written costs no entry in them."""
    return [
        models.Index(fields=[name], name=f"{prefix}_{name}", condition=models.Q(**{f"{name}__isnull": False}))
        for name in ("created_by", "updated_by")
    ]


class ImportedRecord(WorkspaceModel):
    """Lineage: a record an import created or updated, from which source row; undo's basis.

    ``before`` holds the updated fields' previous values (empty for created records).
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    # One row per imported record: every index is paid for on each of them. The workspace and the
    # job are reached through the two composite indexes (which lead with them); the stamps' users
    # are never set (the job has its creator), so their indexes hold only the rows that have one.
    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("workspace"),
    )
    created_by = _unindexed_user(_("created by"))
    updated_by = _unindexed_user(_("updated by"))
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records", db_index=False)
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    row = models.PositiveBigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "row"], name="imported_job_row"),
            models.Index(fields=["workspace", "object_type", "object_id"], name="imported_ws_record"),
            *_set_users_indexes("imported"),
        ]


class ImportIssue(WorkspaceModel):
    """One rejected or corrected cell (or row) of a job: the validation report."""

    class Kind(models.TextChoices):
        ERROR = "error", _("Rejected")
        CORRECTED = "corrected", _("Corrected")
        WARNING = "warning", _("Warning")

    created_by = _unindexed_user(_("created by"))  # never set: see ImportedRecord
    updated_by = _unindexed_user(_("updated by"))
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveBigIntegerField()
    column = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True)
    corrected = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=500)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "job", "row"], name="importissue_ws_job_row"),
            *_set_users_indexes("importissue"),
        ]


class MappingTemplate(WorkspaceModel):
    """A saved column mapping (header → field) for an object, reused for files of the same shape."""

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("object"), max_length=40)
    mapping = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("mapping template")
        verbose_name_plural = _("mapping templates")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "target", "name"], name="mappingtemplate_unique")
        ]

    def __str__(self) -> str:
        return self.name
