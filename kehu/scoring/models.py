"""Lead scoring: the admins' point rules and the trained predictive models, per workspace.

A lead's current score lives on the lead (``Lead.score``, for lists and sorting); its reasons are
computed when a lead is looked at (one rule query, one timeline query, the cached model), so they
are never stale and 1M leads carry no second table of explanations.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from kehu.core.models import WorkspaceModel


class ScoringRule(WorkspaceModel):
    """``points`` for a lead that fits a condition (fit) or for each matching timeline event (engagement)."""

    class Kind(models.TextChoices):
        FIT = "fit", _("Fit")
        ENGAGEMENT = "engagement", _("Engagement")

    class Operator(models.TextChoices):
        EQ = "eq", _("is")
        NE = "ne", _("is not")
        IN = "in", _("is one of")
        NOT_IN = "not_in", _("is none of")
        CONTAINS = "contains", _("contains")
        NOT_CONTAINS = "not_contains", _("does not contain")
        STARTSWITH = "startswith", _("starts with")
        GT = "gt", _("greater than")
        GTE = "gte", _("at least")
        LT = "lt", _("less than")
        LTE = "lte", _("at most")
        IS_SET = "is_set", _("is filled in")
        IS_EMPTY = "is_empty", _("is empty")

    object_type = "scoring.rule"

    name = models.CharField(
        _("name"), max_length=100, blank=True, help_text=_("Empty: described from the condition")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FIT)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    points = models.SmallIntegerField(_("points"), default=10)
    # Fit: a condition on a lead field ("industry", "custom.budget" …).
    field = models.CharField(_("field"), max_length=60, blank=True)
    operator = models.CharField(_("condition"), max_length=20, choices=Operator.choices, blank=True)
    value = models.JSONField(_("value"), null=True, blank=True)
    # Engagement: which timeline entries count (filled from the event preset, editable for "custom").
    event = models.CharField(_("event"), max_length=30, blank=True)
    activity_kind = models.CharField(_("activity kind"), max_length=20, blank=True)
    direction = models.CharField(_("direction"), max_length=20, blank=True)
    outcome_keywords = models.CharField(
        _("outcome contains"), max_length=200, blank=True, help_text=_("Alternatives separated by |")
    )
    min_duration = models.PositiveIntegerField(_("minimum duration (seconds)"), null=True, blank=True)
    cap = models.PositiveSmallIntegerField(
        _("cap"),
        null=True,
        blank=True,
        help_text=_("At most this many points from this rule; empty for no cap"),
    )
    half_life_days = models.PositiveSmallIntegerField(
        _("half-life (days)"),
        null=True,
        blank=True,
        help_text=_("An event's points halve after this many days; empty for no decay"),
    )

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        indexes = [
            models.Index(fields=["workspace", "active", "kind", "position"], name="scoringrule_ws_active")
        ]

    def __str__(self) -> str:
        return self.name or f"{self.kind} #{self.pk}"


class ScoringModel(WorkspaceModel):
    """One training run of the predictive score: its counts (the model), sizes and holdout AUC.

    ``params``: ``{"alpha", "prior": [won, lost], "features": {name: {value: [won, lost]}}}`` — the
    whole naive Bayes model is these counts, readable by a person and by the explainer.
    """

    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        READY = "ready", _("Ready")
        INSUFFICIENT = "insufficient", _("Too little history")
        FAILED = "failed", _("Failed")

    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.TRAINING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    trained_at = models.DateTimeField(_("trained"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    won_count = models.PositiveIntegerField(_("won leads"), default=0)
    lost_count = models.PositiveIntegerField(_("lost leads"), default=0)
    train_size = models.PositiveIntegerField(_("training size"), default=0)
    holdout_size = models.PositiveIntegerField(_("holdout size"), default=0)
    auc = models.FloatField(_("AUC on the holdout"), null=True, blank=True)
    features = models.JSONField(_("features"), default=list, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    rescored = models.PositiveIntegerField(_("open leads rescored"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("predictive scoring model")
        verbose_name_plural = _("predictive scoring models")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="scoringmodel_ws_version"),
        ]
        indexes = [models.Index(fields=["workspace", "status", "-version"], name="scoringmodel_ws_status")]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class ScoringState(models.Model):
    """Per workspace: how far the engagement rescoring has read the timeline (ActivityLink id)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    last_link_id = models.BigIntegerField(default=0)
    # Bumped on every rule change / set when a model is ready: processes reload their cached copy.
    rules_version = models.PositiveIntegerField(default=0)
    model_version = models.PositiveIntegerField(default=0)
    # When a retraining was last enqueued: the scheduler does not enqueue another while it waits.
    retrain_requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(workspace="workspace")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="scoringstate_one_per_workspace")]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.last_link_id}"
