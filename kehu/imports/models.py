"""Import jobs, their lineage (which record came from which row) and saved column mappings.

A job's ``cursor`` is the last source row whose batch was committed; it is written in the same
transaction as the batch, so a killed worker leaves no half batch and a resumed job continues
exactly after it.
"""

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


class ImportedRecord(WorkspaceModel):
    """Lineage: a record an import created or updated, from which source row; undo's basis.

    ``before`` holds the updated fields' previous values (empty for created records).
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    row = models.PositiveBigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "job", "row"], name="imported_ws_job_row"),
            models.Index(fields=["workspace", "object_type", "object_id"], name="imported_ws_record"),
        ]


class ImportIssue(WorkspaceModel):
    """One rejected or corrected cell (or row) of a job: the validation report."""

    class Kind(models.TextChoices):
        ERROR = "error", _("Rejected")
        CORRECTED = "corrected", _("Corrected")
        WARNING = "warning", _("Warning")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveBigIntegerField()
    column = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True)
    corrected = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["workspace", "job", "row"], name="importissue_ws_job_row")]


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
