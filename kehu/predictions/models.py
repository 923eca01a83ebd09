"""Predictive customer scores: lifetime value (BG/NBD + Gamma-Gamma), churn risk, next best action.

Models are fitted per workspace by background jobs; each fit is a versioned row with its parameters
and validation figures, and every account's prediction row names the versions it came from, so a
score always says when it was computed and from what.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class FitStatus(models.TextChoices):
    FITTED = "fitted", _("Fitted")
    INSUFFICIENT = "insufficient", _("Not enough data")
    FAILED = "failed", _("Failed")


class ClvModel(WorkspaceModel):
    """One BG/NBD + Gamma-Gamma fit on the workspace's confirmed orders."""

    object_type = "predictions.model"

    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=FitStatus.choices, default=FitStatus.FITTED)
    fitted_at = models.DateTimeField(_("fitted"), default=timezone.now)
    as_of = models.DateField(_("data up to"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    repeat_customers = models.PositiveIntegerField(_("repeat customers"), default=0)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    loglik = models.FloatField(_("log-likelihood"), null=True, blank=True)
    calibration = models.JSONField(_("calibration / holdout figures"), default=dict, blank=True)
    horizon_months = models.PositiveSmallIntegerField(_("CLV horizon (months)"), default=12)
    monthly_discount = models.FloatField(_("monthly discount rate"), default=0.01)
    message = models.CharField(_("message"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("lifetime value model")
        verbose_name_plural = _("lifetime value models")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="clvmodel_unique_version")
        ]

    def __str__(self) -> str:
        return f"CLV v{self.version}"


class ChurnModel(WorkspaceModel):
    """One churn classifier: trained at one cutoff, tested on the next window, then refit for scoring."""

    object_type = "predictions.model"

    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=FitStatus.choices, default=FitStatus.FITTED)
    trained_at = models.DateTimeField(_("trained"), default=timezone.now)
    as_of = models.DateField(_("data up to"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    window_days = models.PositiveSmallIntegerField(_("churn window (days)"), default=90)
    train_cutoff = models.DateField(_("training cutoff"), null=True, blank=True)
    test_cutoff = models.DateField(_("test cutoff"), null=True, blank=True)
    train_size = models.PositiveIntegerField(_("training size"), default=0)
    test_size = models.PositiveIntegerField(_("test size"), default=0)
    churn_rate = models.FloatField(_("churn rate in the test window"), null=True, blank=True)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    precision = models.FloatField(_("precision"), null=True, blank=True)
    recall = models.FloatField(_("recall"), null=True, blank=True)
    brier = models.FloatField(_("Brier score"), null=True, blank=True)
    threshold = models.FloatField(_("at-risk threshold"), default=0.5)
    features = models.JSONField(_("features"), default=list, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="churnmodel_unique_version")
        ]

    def __str__(self) -> str:
        return f"Churn v{self.version}"


class CustomerPrediction(WorkspaceModel):
    """The latest predictions for one account (rewritten in batches by the scoring jobs)."""

    account = models.OneToOneField(
        "customers.Account", on_delete=models.CASCADE, related_name="prediction", verbose_name=_("account")
    )
    expected_purchases = models.FloatField(_("expected purchases (12 months)"), null=True, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    predicted_spend = models.DecimalField(
        _("expected spend per purchase"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    clv = models.DecimalField(
        _("lifetime value (12 months)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    churn_probability = models.FloatField(_("churn risk"), null=True, blank=True)
    reasons = models.JSONField(_("top reasons"), default=list, blank=True)
    next_action = models.CharField(_("next best action"), max_length=20, blank=True)
    next_action_reason = models.CharField(_("why"), max_length=300, blank=True)
    next_action_data = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)
    clv_version = models.PositiveIntegerField(_("CLV model version"), null=True, blank=True)
    churn_version = models.PositiveIntegerField(_("churn model version"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer prediction")
        verbose_name_plural = _("customer predictions")
        indexes = [
            models.Index(fields=["workspace", "churn_probability"], name="pred_ws_churn"),
            models.Index(fields=["workspace", "clv"], name="pred_ws_clv"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: CLV {self.clv}, churn {self.churn_probability}"


class RecommendedAction(WorkspaceModel):
    """A next best action shown to users, and what became of it (taken → task → did the account order?)."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call by the owner")
        VISIT = "visit", _("Care visit")
        OFFER = "offer", _("Make an offer")
        ESCALATE = "escalate", _("Escalate the open complaint")
        CROSS_SELL = "cross_sell", _("Cross-sell")

    class Status(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested")
        TAKEN = "taken", _("Taken")
        DISMISSED = "dismissed", _("Dismissed")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting")
        ORDERED = "ordered", _("Ordered within 60 days")
        NO_ORDER = "no_order", _("No order within 60 days")

    object_type = "predictions.action"

    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    kind = models.CharField(_("action"), max_length=20, choices=Kind.choices)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    churn_probability = models.FloatField(_("churn risk when suggested"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUGGESTED)
    task = models.ForeignKey(
        "activities.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("task"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_at = models.DateTimeField(_("outcome measured"), null=True, blank=True)

    class Meta:
        verbose_name = _("recommended action")
        verbose_name_plural = _("recommended actions")
        indexes = [
            models.Index(fields=["workspace", "account", "status"], name="action_ws_account"),
            models.Index(fields=["workspace", "status", "outcome"], name="action_ws_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.account_id})"
