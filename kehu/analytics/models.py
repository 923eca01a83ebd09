"""Customer analytics: lifecycle rules and history, grades, RFM scores, profitability.

Settings are per workspace (``LifecycleSettings``, ``ValueSettings``). The computation
(``engine.py``) writes one ``CustomerScore`` row per account and the history tables
(``LifecycleChange``, ``GradeChange``, ``SegmentSnapshot``); ``Account.lifecycle_stage`` and
``Account.grade`` carry the effective stage and grade on the account row for filters and routing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel

SEGMENTS = [
    ("champions", _("Champions")),
    ("loyal", _("Loyal customers")),
    ("potential_loyalists", _("Potential loyalists")),
    ("new_customers", _("New customers")),
    ("promising", _("Promising")),
    ("need_attention", _("Need attention")),
    ("about_to_sleep", _("About to sleep")),
    ("at_risk", _("At risk")),
    ("cant_lose", _("Can't lose them")),
    ("hibernating", _("Hibernating")),
    ("lost", _("Lost")),
]

VALUE_LABELS = [
    ("valuable", _("Valuable")),
    ("growing", _("Growing")),
    ("unprofitable", _("Unprofitable")),
]

# The order statuses that count as a purchase: a draft is not one yet, a cancelled or refunded
# order is not one any more.
COUNTED_STATUSES = ("confirmed", "paid", "shipped")


def default_tiers() -> list[dict]:
    return [
        {"key": "strategic", "label": "Strategic", "min_score": 4.0, "share": 10},
        {"key": "important", "label": "Important", "min_score": 3.0, "share": 30},
        {"key": "ordinary", "label": "Ordinary", "min_score": 0, "share": 60},
    ]


def default_weights() -> dict:
    return {"value": 4, "potential": 2, "loyalty": 2, "margin": 2}


def default_bins() -> dict:
    # Upper edges of bins 1-4 (a value above the last edge is in bin 5). Recency: days since the
    # last order, scored the other way round (≤ 30 days → R 5).
    return {"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [1000, 5000, 20000, 100000]}


class LifecycleSettings(WorkspaceModel):
    """The workspace's lifecycle rules (see docs/analytics.md for how a stage is derived)."""

    new_customer_days = models.PositiveIntegerField(
        _("new-customer window (days)"),
        default=90,
        help_text=_("A first order this recent makes a new customer."),
    )
    at_risk_factor = models.DecimalField(
        _("at-risk factor"),
        max_digits=5,
        decimal_places=2,
        default=2,
        help_text=_("At risk when the days since the last order exceed this many times the usual interval."),
    )
    at_risk_floor_days = models.PositiveIntegerField(_("at-risk threshold at least (days)"), default=30)
    at_risk_ceiling_days = models.PositiveIntegerField(_("at-risk threshold at most (days)"), default=270)
    default_interval_days = models.PositiveIntegerField(
        _("usual interval of one-order customers (days)"), default=90
    )
    churn_days = models.PositiveIntegerField(_("churned after (days without an order)"), default=365)

    class Meta:
        verbose_name = _("lifecycle settings")
        verbose_name_plural = _("lifecycle settings")
        constraints = [models.UniqueConstraint(fields=["workspace"], name="lifecyclesettings_one_per_ws")]


class ValueSettings(WorkspaceModel):
    """Grading, RFM and profitability settings of a workspace."""

    class RfmMethod(models.TextChoices):
        QUINTILES = "quintiles", _("Quintiles of the workspace's customers")
        BINS = "bins", _("Fixed bins")

    class GradeMethod(models.TextChoices):
        THRESHOLDS = "thresholds", _("Score thresholds")
        QUANTILES = "quantiles", _("Share of accounts (quantiles)")

    class Potential(models.TextChoices):
        PIPELINE = "pipeline", _("Open pipeline amount")
        SIZE = "size", _("Company size")

    class Loyalty(models.TextChoices):
        TENURE = "tenure", _("Days since the first order")
        ORDERS = "orders", _("Number of orders")

    value_months = models.PositiveIntegerField(
        _("value window (months)"),
        default=12,
        help_text=_("Revenue, margin and cost to serve are summed over it."),
    )
    rfm_method = models.CharField(
        _("RFM scoring"), max_length=10, choices=RfmMethod.choices, default=RfmMethod.QUINTILES
    )
    rfm_bins = models.JSONField(_("RFM bins"), default=default_bins, blank=True)
    grade_method = models.CharField(
        _("grade assignment"), max_length=10, choices=GradeMethod.choices, default=GradeMethod.THRESHOLDS
    )
    tiers = models.JSONField(_("tiers"), default=default_tiers)
    weights = models.JSONField(_("dimension weights"), default=default_weights)
    potential_source = models.CharField(
        _("potential from"), max_length=10, choices=Potential.choices, default=Potential.PIPELINE
    )
    loyalty_source = models.CharField(
        _("loyalty from"), max_length=10, choices=Loyalty.choices, default=Loyalty.TENURE
    )
    cost_per_ticket = models.DecimalField(_("cost per ticket"), max_digits=12, decimal_places=2, default=50)
    cost_per_complaint = models.DecimalField(
        _("extra cost per complaint"), max_digits=12, decimal_places=2, default=200
    )
    cost_per_visit = models.DecimalField(
        _("cost per visit or meeting"), max_digits=12, decimal_places=2, default=300
    )
    valuable_share = models.PositiveIntegerField(_("valuable: top share by profit (%)"), default=20)
    growth_pct = models.PositiveIntegerField(_("growing: revenue growth of at least (%)"), default=20)

    class Meta:
        verbose_name = _("customer value settings")
        verbose_name_plural = _("customer value settings")
        constraints = [models.UniqueConstraint(fields=["workspace"], name="valuesettings_one_per_ws")]


class AnalyticsRun(WorkspaceModel):
    """One computation: what it covered, its timings, and the cuts (bin edges) it scored with."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        INCREMENTAL = "incremental", _("Incremental")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Orders, interactions and tickets changed after this moment are picked up by the next run.
    watermark = models.DateTimeField(_("watermark"))
    accounts = models.PositiveIntegerField(_("accounts computed"), default=0)
    cuts = models.JSONField(_("bin edges"), default=dict, blank=True)
    config = models.JSONField(_("settings used"), default=dict, blank=True)
    stats = models.JSONField(_("timings and counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("analytics run")
        verbose_name_plural = _("analytics runs")
        indexes = [models.Index(fields=["workspace", "status", "-started_at"], name="analyticsrun_ws_status")]


class CustomerScore(WorkspaceModel):
    """The current scores of one account and the figures they were computed from."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    run = models.ForeignKey(
        AnalyticsRun, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("run")
    )
    as_of = models.DateField(_("as of"))
    computed_at = models.DateTimeField(_("computed at"))
    # Order figures (counted orders up to as_of, base currency).
    first_order_date = models.DateField(_("first order"), null=True)
    last_order_date = models.DateField(_("last order"), null=True)
    last_return_date = models.DateField(_("last return after churn"), null=True)
    median_interval_days = models.FloatField(_("median days between orders"), null=True)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    historical_value = models.DecimalField(_("historical value"), max_digits=18, decimal_places=2, default=0)
    historical_margin = models.DecimalField(
        _("historical margin"), max_digits=18, decimal_places=2, default=0
    )
    revenue_window = models.DecimalField(_("revenue in window"), max_digits=18, decimal_places=2, default=0)
    margin = models.DecimalField(_("margin in window"), max_digits=18, decimal_places=2, default=0)
    discounts = models.DecimalField(_("discounts in window"), max_digits=18, decimal_places=2, default=0)
    tickets = models.PositiveIntegerField(_("tickets in window"), default=0)
    complaints = models.PositiveIntegerField(_("complaints in window"), default=0)
    visits = models.PositiveIntegerField(_("visits and meetings in window"), default=0)
    cost_to_serve = models.DecimalField(_("cost to serve"), max_digits=18, decimal_places=2, default=0)
    profit = models.DecimalField(_("profit"), max_digits=18, decimal_places=2, default=0)
    value_label = models.CharField(_("value label"), max_length=12, choices=VALUE_LABELS, blank=True)
    potential = models.DecimalField(_("potential"), max_digits=18, decimal_places=2, default=0)
    # RFM
    recency_days = models.IntegerField(_("days since last order"), null=True)
    r = models.PositiveSmallIntegerField("R", null=True)
    f = models.PositiveSmallIntegerField("F", null=True)
    m = models.PositiveSmallIntegerField("M", null=True)
    fm = models.PositiveSmallIntegerField("FM", null=True)
    segment = models.CharField(_("RFM segment"), max_length=20, choices=SEGMENTS, blank=True)
    # Grade
    grade_score = models.FloatField(_("grade score"), null=True)
    grade = models.CharField(_("grade"), max_length=30, blank=True)
    # Lifecycle as derived from the rules (the account row carries the effective one, which a manual
    # override may replace); the day the derived stage next changes if no order arrives.
    derived_stage = models.CharField(_("derived lifecycle stage"), max_length=20, blank=True)
    next_change_on = models.DateField(_("stage changes on"), null=True)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "account"], name="customerscore_one_per_account")
        ]
        indexes = [
            models.Index(fields=["workspace", "segment"], name="customerscore_ws_segment"),
            models.Index(fields=["workspace", "r", "fm"], name="customerscore_ws_rfm"),
            models.Index(fields=["workspace", "next_change_on"], name="customerscore_ws_next"),
        ]


class SegmentSnapshot(WorkspaceModel):
    """An account's RFM scores from ``date`` on (a row is written only when they change), so the
    segment of any account at any past computation date is the latest row on or before it."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    r = models.PositiveSmallIntegerField("R", null=True)
    f = models.PositiveSmallIntegerField("F", null=True)
    m = models.PositiveSmallIntegerField("M", null=True)
    segment = models.CharField(_("RFM segment"), max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "account", "date"], name="segmentsnapshot_one_per_day"
            )
        ]
        indexes = [models.Index(fields=["workspace", "date"], name="segmentsnapshot_ws_date")]


class LifecycleChange(WorkspaceModel):
    """A change of an account's (effective) lifecycle stage."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="+")
    from_stage = models.CharField(_("from"), max_length=20, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, blank=True)
    at = models.DateTimeField(_("at"))
    as_of = models.DateField(_("as of"), null=True)
    reason = models.TextField(_("reason"), blank=True)
    manual = models.BooleanField(_("manual"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("lifecycle change")
        verbose_name_plural = _("lifecycle changes")
        indexes = [
            models.Index(fields=["workspace", "account", "-at"], name="lifecyclechange_account"),
            models.Index(fields=["workspace", "to_stage", "at"], name="lifecyclechange_ws_to"),
        ]


class LifecycleOverride(WorkspaceModel):
    """A stage set by hand: it replaces the derived stage until it is cleared."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(_("stage"), max_length=20)
    reason = models.TextField(_("reason"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "account"], name="lifecycleoverride_one_per_account")
        ]


class GradeChange(WorkspaceModel):
    """A change of an account's grade by a computation."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="+")
    from_grade = models.CharField(_("from"), max_length=30, blank=True)
    to_grade = models.CharField(_("to"), max_length=30, blank=True)
    score = models.FloatField(_("grade score"), null=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("grade change")
        verbose_name_plural = _("grade changes")
        indexes = [models.Index(fields=["workspace", "account", "-at"], name="gradechange_account")]
