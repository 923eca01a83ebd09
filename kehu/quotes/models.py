"""Quotes for opportunities: versions of an offer with lines, discounts and tax, ending in an order.

A quote number (Q-2026-0001) names the offer; its versions share the number and differ in
``version``. Exactly one version is the current one (``is_current``, a partial unique index), the
older ones are read-only history. Amounts are stored as computed by ``totals.compute`` (the one
function), with 3 decimal places so currencies with a 3-digit minor unit fit.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.core.models import OwnedRecord, WorkspaceModel

AMOUNT = {"max_digits": 17, "decimal_places": 3}
PRICE = {"max_digits": 18, "decimal_places": 4}
PERCENT = {"max_digits": 5, "decimal_places": 2}


class QuoteCounter(WorkspaceModel):
    """The next quote number of a workspace in a year (the row is locked while a number is taken)."""

    year = models.PositiveSmallIntegerField()
    next_value = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "year"], name="quote_counter_unique")]


class Quote(OwnedRecord):
    """One version of an offer to the account of an opportunity."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("quote status", "Draft")
        SENT = "sent", pgettext_lazy("quote status", "Sent")
        ACCEPTED = "accepted", pgettext_lazy("quote status", "Accepted")
        REJECTED = "rejected", pgettext_lazy("quote status", "Rejected")
        EXPIRED = "expired", pgettext_lazy("quote status", "Expired")
        SUPERSEDED = "superseded", pgettext_lazy("quote status", "Superseded")

    object_type = "quotes.quote"

    number = models.CharField(_("number"), max_length=40)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    # The deal's quotes go with it; the order an accepted quote created stays (it is purchase history).
    opportunity = models.ForeignKey(
        "deals.Opportunity", on_delete=models.CASCADE, related_name="+", verbose_name=_("opportunity")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(_("currency"), max_length=3)
    issue_date = models.DateField(_("issue date"))
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    discount_percent = models.DecimalField(_("quote discount (%)"), default=0, **PERCENT)
    subtotal = models.DecimalField(_("subtotal"), default=0, editable=False, **AMOUNT)
    discount_amount = models.DecimalField(_("discount"), default=0, editable=False, **AMOUNT)
    tax_amount = models.DecimalField(_("tax"), default=0, editable=False, **AMOUNT)
    total = models.DecimalField(_("total"), default=0, editable=False, **AMOUNT)
    win_opportunity = models.BooleanField(_("win the opportunity on acceptance"), default=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=300, blank=True)
    order = models.ForeignKey(
        "commerce.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("order"),
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number", "version"], name="quote_unique_version"),
            models.UniqueConstraint(
                fields=["workspace", "number"], condition=Q(is_current=True), name="quote_one_current"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="quote_discount_range"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="quote_ws_created"),
            models.Index(fields=["workspace", "owner", "-created_at", "-id"], name="quote_ws_owner_created"),
            models.Index(fields=["workspace", "opportunity", "number", "version"], name="quote_ws_opp"),
            models.Index(fields=["workspace", "account", "-created_at"], name="quote_ws_account"),
            # The expiry job: sent quotes past their validity.
            models.Index(fields=["workspace", "status", "valid_until"], name="quote_ws_status_valid"),
            # The scheduler's tick: which workspaces have sent quotes past validity (across workspaces).
            models.Index(fields=["valid_until"], condition=Q(status="sent"), name="quote_sent_valid"),
            models.Index(fields=["workspace", "total", "id"], name="quote_ws_total"),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT and self.is_current


class QuoteLine(WorkspaceModel):
    """One position of a quote: a catalog product or free text; amounts computed, never typed in."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", verbose_name=_("quote"))
    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "commerce.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), **PRICE)
    discount_percent = models.DecimalField(_("discount (%)"), default=0, **PERCENT)
    tax_rate = models.DecimalField(_("tax rate (%)"), default=0, **PERCENT)
    net_amount = models.DecimalField(_("net"), default=0, **AMOUNT)
    tax_amount = models.DecimalField(_("tax"), default=0, **AMOUNT)
    gross_amount = models.DecimalField(_("gross"), default=0, **AMOUNT)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quoteline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quoteline_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="quoteline_discount_range",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="quoteline_tax_range"
            ),
        ]

    def __str__(self) -> str:
        return self.description
