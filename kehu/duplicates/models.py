"""Matching rules, scans, the review queue of candidate pairs, and merges (reversible).

Records are named by ``(object_type, id)`` with the permission registry's keys
("customers.contact"), so one table serves accounts, contacts and leads (and later types).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class MatchRule(WorkspaceModel):
    """One way two records of a type can be the same: exact on a key, or a weighted fuzzy score.

    ``fields`` is a list of ``{"field": "email", "weight": 1, "min": 0}``; field names are the
    matcher's canonical features (name, company, city, address, email, phone) or ``custom.<key>``.
    An exact rule fires when any of its fields is equal (normalised) on both records.
    """

    class Kind(models.TextChoices):
        EXACT = "exact", _("Exact")
        FUZZY = "fuzzy", _("Fuzzy")

    class Action(models.TextChoices):
        WARN = "warn", _("Warn")
        BLOCK = "block", _("Block")

    object_type = models.CharField(_("object type"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    fields = models.JSONField(_("fields"), default=list)
    threshold = models.PositiveSmallIntegerField(_("threshold"), default=85)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.WARN)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("matching rule")
        verbose_name_plural = _("matching rules")
        indexes = [models.Index(fields=["workspace", "object_type", "position"], name="matchrule_ws_type")]

    def __str__(self) -> str:
        return self.name


class ScanJob(WorkspaceModel):
    """A batch scan of one object type of a workspace, with its progress and statistics."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    object_type = models.CharField(_("object type"), max_length=60)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveBigIntegerField(_("records"), default=0)
    done = models.PositiveBigIntegerField(_("records read"), default=0)
    found = models.PositiveIntegerField(_("candidate pairs"), default=0)
    stats = models.JSONField(_("statistics"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="scanjob_ws_created")]

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0


class Candidate(WorkspaceModel):
    """A pair of records that may be the same (``record_a < record_b``), in the review queue.

    "Not a duplicate" is kept (status ``dismissed``), so scans and create-time checks never
    propose the pair again.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not a duplicate")

    object_type = models.CharField(_("object type"), max_length=60)
    record_a = models.BigIntegerField()
    record_b = models.BigIntegerField()
    score = models.PositiveSmallIntegerField(_("score"))
    matched_fields = models.JSONField(_("matched fields"), default=list)
    rule_name = models.CharField(_("rule"), max_length=100, blank=True)
    cluster = models.BigIntegerField(_("cluster"), default=0, help_text=_("Smallest record id of the group"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    scan = models.ForeignKey(ScanJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "record_a", "record_b"], name="candidate_unique_pair"
            ),
            models.CheckConstraint(condition=Q(record_a__lt=models.F("record_b")), name="candidate_ordered"),
        ]
        indexes = [
            # The review queue: open pairs of a type, best first.
            models.Index(
                fields=["workspace", "object_type", "status", "-score", "id"], name="candidate_queue"
            ),
            models.Index(fields=["workspace", "object_type", "record_b"], name="candidate_by_b"),
        ]


class MergeRecord(WorkspaceModel):
    """One merge: enough to undo it exactly.

    ``losers`` holds each merged-away record's full row (every concrete column); ``survivor_before``
    the survivor's columns the merge changed; ``changed`` every related row the merge touched as
    ``[model label, pk, {column: value before}]``; ``removed`` related rows deleted because the
    survivor already had the same one (a tag, a timeline link), as ``[model label, full row]``.
    """

    object_type = models.CharField(_("object type"), max_length=60)
    survivor_id = models.BigIntegerField(_("survivor"))
    merged_ids = models.JSONField(_("merged records"), default=list)
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    losers = models.JSONField(default=list)
    changed = models.JSONField(default=list)
    removed = models.JSONField(default=list)
    moved_count = models.PositiveIntegerField(_("moved rows"), default=0)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="merge_ws_created"),
            models.Index(fields=["workspace", "object_type", "survivor_id"], name="merge_ws_survivor"),
        ]
