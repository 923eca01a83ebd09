"""Opportunities (deals) moving through the ordered stages of a workspace's pipelines.

A stage carries the defaults of the deals in it (probability, won/lost), so an opportunity's status,
closing date and forecast category follow from its stage unless overridden. Every stage entry is
a ``StageChange`` row that also keeps the time spent in the previous stage, so "time in stage"
and stage-conversion reports are one aggregate over one table.

Amounts: ``amount`` in the deal's ``currency``; ``base_amount`` is the same converted to the
workspace's base currency with the rate of the day of the last change, so pipeline and forecast
totals are a ``SUM`` without joins (as orders do).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager

from kehu.core.models import OwnedRecord, WorkspaceModel

MONEY = {"max_digits": 16, "decimal_places": 2}
PRICE = {"max_digits": 18, "decimal_places": 4}


class Pipeline(WorkspaceModel):
    """An ordered set of stages, e.g. new business, renewals, channel partners."""

    object_type = "deals.pipeline"

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pipeline_unique_name"),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="pipeline_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(WorkspaceModel):
    """One column of a pipeline; entering it may require some opportunity fields to be filled."""

    object_type = "deals.stage"

    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline")
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    is_won = models.BooleanField(_("won stage"), default=False)
    is_lost = models.BooleanField(_("lost stage"), default=False)
    # Opportunity field names ("amount", "expected_close_date", "contacts", "custom.<key>") that
    # must be filled before a deal may enter this stage.
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_max"),
            models.CheckConstraint(condition=~Q(is_won=True, is_lost=True), name="stage_not_won_and_lost"),
        ]
        indexes = [models.Index(fields=["workspace", "pipeline", "position"], name="stage_ws_pipeline")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class LostReason(WorkspaceModel):
    """A reason to pick when a deal is lost (the workspace's list; free text stays possible)."""

    object_type = "deals.lostreason"

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="lostreason_unique_name")]

    def __str__(self) -> str:
        return self.name


class Opportunity(OwnedRecord):
    """A possible sale to an account, in one stage of one pipeline."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("opportunity status", "Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    class ForecastCategory(models.TextChoices):
        PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
        BEST_CASE = "best_case", _("Best case")
        COMMIT = "commit", _("Commit")
        CLOSED = "closed", pgettext_lazy("forecast category", "Closed")
        OMITTED = "omitted", _("Omitted")

    object_type = "deals.opportunity"

    name = models.CharField(_("name"), max_length=200)
    # A deal with history is a sales record: its account cannot be deleted from under it.
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage")
    )
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    # The highest position of a non-lost stage of the current pipeline the deal has entered (None:
    # none yet); kept by the services with every move, so stage conversion is one GROUP BY.
    furthest_position = models.PositiveIntegerField(_("furthest stage reached"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), default=0, **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    exchange_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=8, default=1)
    base_amount = models.DecimalField(_("amount in base currency"), default=0, editable=False, **MONEY)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    competitors = models.JSONField(_("competitors"), default=list, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="opportunity_probability_max"),
        ]
        indexes = [
            # Kanban cards of one column, most recently touched first (keyset over updated_at, id);
            # the column totals are a GROUP BY over its (workspace, pipeline, stage) prefix.
            models.Index(
                fields=["workspace", "pipeline", "stage", "-updated_at", "-id"], name="opp_ws_board"
            ),
            models.Index(
                fields=["workspace", "owner", "pipeline", "stage", "-updated_at", "-id"],
                name="opp_ws_owner_board",
            ),
            # Covering indexes of the board's column totals (key columns, not INCLUDE, so SQLite reads
            # them index-only too): open deals and the recently closed ones by (status, closed_at), and
            # a close-date range by expected_close_date; owner and team serve the filters and scopes.
            models.Index(
                fields=[
                    "workspace",
                    "pipeline",
                    "status",
                    "closed_at",
                    "stage",
                    "base_amount",
                    "probability",
                    "owner",
                    "team",
                ],
                name="opp_ws_board_totals",
            ),
            models.Index(
                fields=[
                    "workspace",
                    "pipeline",
                    "expected_close_date",
                    "stage",
                    "status",
                    "base_amount",
                    "probability",
                    "owner",
                    "team",
                ],
                name="opp_ws_board_close",
            ),
            # Stage conversion: the deals created in a period, counted by furthest stage.
            models.Index(
                fields=["workspace", "pipeline", "created_at", "furthest_position", "owner", "team"],
                name="opp_ws_created_furthest",
            ),
            models.Index(fields=["workspace", "-created_at", "-id"], name="opp_ws_created"),
            models.Index(fields=["workspace", "owner", "-created_at", "-id"], name="opp_ws_owner_created"),
            models.Index(fields=["workspace", "account", "status"], name="opp_ws_account_status"),
            # Forecast of open deals by close date, and closed deals by closing day.
            models.Index(fields=["workspace", "status", "expected_close_date"], name="opp_ws_status_close"),
            models.Index(fields=["workspace", "status", "closed_at"], name="opp_ws_status_closed_at"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self):
        return self.amount * self.probability / 100


class OpportunityContact(WorkspaceModel):
    """A person involved in a deal and the part they play in the decision."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        ECONOMIC_BUYER = "economic_buyer", _("Economic buyer")
        CHAMPION = "champion", _("Champion")
        INFLUENCER = "influencer", _("Influencer")
        TECHNICAL = "technical", _("Technical evaluator")
        USER = "user", _("User")
        OTHER = "other", pgettext_lazy("contact role", "Other")

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_roles", verbose_name=_("opportunity")
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OTHER)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("opportunity contact")
        verbose_name_plural = _("opportunity contacts")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "opportunity", "contact"], name="oppcontact_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "contact"], name="oppcontact_ws_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} ({self.role})"


class OpportunityLine(WorkspaceModel):
    """A product (or free text) the deal would sell; its total is computed by the services."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="lines", verbose_name=_("opportunity")
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "commerce.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), **PRICE)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(_("line total"), default=0, **MONEY)

    class Meta:
        verbose_name = _("opportunity line")
        verbose_name_plural = _("opportunity lines")
        ordering = ["opportunity", "position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.pk)


class StageChange(WorkspaceModel):
    """A deal entering a stage (``from_stage`` empty at creation), with the time spent before it."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("opportunity")
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="+", verbose_name=_("pipeline")
    )
    from_stage = models.ForeignKey(
        Stage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("from stage"),
    )
    to_stage = models.ForeignKey(
        Stage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("to stage"),
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    # Seconds the deal spent in ``from_stage`` before this change (None for the first entry).
    seconds_in_previous = models.BigIntegerField(_("seconds in previous stage"), null=True, blank=True)
    # The deal's amount in the base currency at the time, so stage conversion can be weighed by value.
    base_amount = models.DecimalField(_("amount in base currency"), default=0, **MONEY)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [
            models.Index(fields=["workspace", "opportunity", "changed_at"], name="stagechange_ws_opp"),
            models.Index(fields=["workspace", "pipeline", "changed_at"], name="stagechange_ws_pipeline"),
            models.Index(fields=["workspace", "from_stage", "changed_at"], name="stagechange_ws_from"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class OpenStageTotal(models.Model):
    """Running totals of the OPEN deals per (stage, owner, team): the board's open-deal column totals.

    Kept by database triggers on ``deals_opportunity`` (migration ``0004``), so every write path —
    services, ``QuerySet.update``, bulk loads, imports — keeps it exact in the same transaction.
    The board reads a few hundred of these rows instead of counting 100k+ open deals per request;
    filters it cannot answer (close dates, search, custom fields) count the deals as before.
    ``owner_id``/``team_id`` have the deal's names so the same record-scope filter applies.
    Derived data: not exported (the import's inserts rebuild it).
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    owner_id = models.BigIntegerField(null=True)
    team_id = models.BigIntegerField(null=True)
    deal_count = models.BigIntegerField(default=0)
    amount_sum = models.DecimalField(max_digits=24, decimal_places=2, default=0, help_text="Σ base_amount")
    weighted_sum = models.DecimalField(
        max_digits=28, decimal_places=2, default=0, help_text="Σ base_amount × probability (percent)"
    )

    objects = ScopedManager(workspace="workspace")

    class Meta:
        indexes = [models.Index(fields=["workspace", "pipeline", "stage"], name="open_total_ws_pipeline")]

    def __str__(self) -> str:
        return f"{self.stage_id}/{self.owner_id}/{self.team_id}: {self.deal_count}"
