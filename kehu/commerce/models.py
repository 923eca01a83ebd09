"""Product catalog, orders with lines (the purchase history), exchange rates and customer feedback.

Money: prices are stored with 4 decimal places (unit prices of cheap items), every total with 2,
rounded half up. Each order keeps the exchange rate of its order date and its totals converted to
the workspace's base currency, so revenue figures are one ``SUM`` without joins or conversions.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.core.models import OwnedRecord, WorkspaceModel
from kehu.customers.models import OwnedRollup

MONEY = {"max_digits": 16, "decimal_places": 2}
PRICE = {"max_digits": 18, "decimal_places": 4}


class Product(WorkspaceModel):
    """A catalog item. Catalog data, not an owned record: access follows the object type's grant."""

    object_type = "commerce.product"

    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    unit_price = models.DecimalField(_("unit price"), default=0, **PRICE)
    unit_cost = models.DecimalField(_("unit cost"), default=0, **PRICE)
    currency = models.CharField(_("currency"), max_length=3)
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(fields=["workspace", "sku"], name="product_unique_sku")]
        indexes = [
            models.Index(fields=["workspace", "name"], name="product_ws_name"),
            models.Index(fields=["workspace", "category", "name"], name="product_ws_category"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class ExchangeRate(WorkspaceModel):
    """How many units of the base currency one unit of ``currency`` is worth from ``valid_from`` on."""

    object_type = "commerce.exchangerate"

    currency = models.CharField(_("currency"), max_length=3)
    rate_to_base = models.DecimalField(_("rate to base currency"), max_digits=18, decimal_places=8)
    valid_from = models.DateField(_("valid from"))

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "currency", "valid_from"], name="rate_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_to_base} ({self.valid_from})"


class OrderCounter(WorkspaceModel):
    """The workspace's next generated order number (locked while numbers are handed out)."""

    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="order_counter_one_per_ws")]


class Order(OwnedRecord):
    """A customer's order: the purchase history of an account (and optionally one of its contacts)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    object_type = "commerce.order"

    number = models.CharField(_("number"), max_length=40)
    external_id = models.CharField(
        _("external ID"), max_length=100, blank=True, help_text=_("The order's ID in an ERP or shop")
    )
    # An account with orders cannot be deleted: purchase history is a financial record.
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
    order_date = models.DateField(_("order date"), default=timezone.localdate)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(_("currency"), max_length=3)
    total_amount = models.DecimalField(_("total amount"), default=0, **MONEY)
    total_cost = models.DecimalField(_("total cost"), default=0, **MONEY)
    discount = models.DecimalField(_("discount"), default=0, **MONEY)
    exchange_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=8, default=1)
    base_total_amount = models.DecimalField(_("total in base currency"), default=0, **MONEY)
    base_total_cost = models.DecimalField(_("cost in base currency"), default=0, **MONEY)
    notes = models.TextField(_("notes"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="order_unique_number"),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=~Q(external_id=""),
                name="order_unique_external",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "account", "order_date"], name="order_ws_account_date"),
            models.Index(fields=["workspace", "-order_date", "-id"], name="order_ws_date"),
            # Reports and KPIs over a date range (orders by month, by status, by owner): read from the
            # index alone on PostgreSQL (the included columns are ignored where not supported).
            models.Index(
                fields=["workspace", "order_date"],
                include=["status", "base_total_amount", "owner"],
                name="order_ws_date_report",
            ),
            models.Index(fields=["workspace", "status"], name="order_ws_status"),
            models.Index(fields=["workspace", "contact", "order_date"], name="order_ws_contact_date"),
            models.Index(fields=["workspace", "owner"], name="order_ws_owner"),
            # The order list's "amount" sort (keyset on base_total_amount, id; read backwards for
            # the largest first). The default sort, newest order date, uses order_ws_date above.
            models.Index(fields=["workspace", "base_total_amount", "id"], name="order_ws_amount"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def margin(self):
        return self.total_amount - self.total_cost


class OrderRollup(OwnedRollup):
    """Orders counted and summed per (day, status, currency, owner, team): what reports read instead of
    millions of orders when a report's groups, filters and values fit (``kehu.reports.rollups``).

    Kept by database triggers on ``commerce_order`` (migration ``0006``; PostgreSQL: one grouped upsert
    per statement from its transition tables), so every write path — services, ``QuerySet.update``,
    raw SQL, imports, deletes — keeps it exact in the same transaction. Rows reaching 0 are kept;
    readers skip them. Derived data: not exported (the import's inserts rebuild it).
    """

    order_date = models.DateField()
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    currency = models.CharField(max_length=3)
    order_count = models.BigIntegerField(default=0)
    total_amount = models.DecimalField(max_digits=24, decimal_places=2, default=0, help_text="Σ total_amount")
    total_cost = models.DecimalField(max_digits=24, decimal_places=2, default=0, help_text="Σ total_cost")
    discount = models.DecimalField(max_digits=24, decimal_places=2, default=0, help_text="Σ discount")
    base_total_amount = models.DecimalField(
        max_digits=24, decimal_places=2, default=0, help_text="Σ base_total_amount"
    )
    base_total_cost = models.DecimalField(
        max_digits=24, decimal_places=2, default=0, help_text="Σ base_total_cost"
    )

    # The unique key (workspace, order_date, status, currency, owner, team; NULLs as 0) is an
    # expression index made by the migration; it also serves date-range reads.

    def __str__(self) -> str:
        return f"{self.order_date}/{self.status}/{self.owner_id}/{self.team_id}: {self.order_count}"


class OrderLine(WorkspaceModel):
    """One position of an order; its totals are computed by the services, never typed in."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), **PRICE)
    unit_cost = models.DecimalField(_("unit cost"), default=0, **PRICE)
    discount = models.DecimalField(_("discount"), default=0, **MONEY)
    line_total = models.DecimalField(_("line total"), default=0, **MONEY)
    line_cost = models.DecimalField(_("line cost"), default=0, **MONEY)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.pk)


class Feedback(OwnedRecord):
    """A satisfaction rating and/or free-text feedback from a customer (extended by the service work)."""

    class Kind(models.TextChoices):
        PRAISE = "praise", _("Praise")
        SUGGESTION = "suggestion", _("Suggestion")
        COMPLAINT = "complaint", _("Complaint")
        OTHER = "other", pgettext_lazy("feedback kind", "Other")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        WEB = "web", _("Web form")
        WECHAT = "wechat", _("WeChat")
        IN_PERSON = "in_person", _("In person")
        SURVEY = "survey", _("Survey")
        OTHER = "other", pgettext_lazy("feedback channel", "Other")

    object_type = "commerce.feedback"

    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("order")
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("product")
    )
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True, help_text=_("1 to 5"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER)
    comment = models.TextField(_("comment"), blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        indexes = [
            models.Index(fields=["workspace", "account", "-received_at"], name="feedback_ws_account"),
            models.Index(fields=["workspace", "contact", "-received_at"], name="feedback_ws_contact"),
            models.Index(fields=["workspace", "-received_at", "-id"], name="feedback_ws_received"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.received_at:%Y-%m-%d}"
