"""Accounts (companies or individuals), the people at them (contacts), and how to reach both.

An account or contact keeps its *primary* phone and email on its own row (for lists, search and
display without joins); every phone and email, typed, lives in ``ContactPoint``, which the
services keep in step with those columns. Chinese names carry their pinyin for search and sorting.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager

from kehu.core.models import OwnedRecord, WorkspaceModel, workspace_key

from .normalize import pinyin_stem


class Account(OwnedRecord):
    """The customer unit: a company (B2B) or an individual (B2C)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        INDIVIDUAL = "individual", _("Individual")

    class Size(models.TextChoices):
        MICRO = "1-9", _("1–9 employees")
        SMALL = "10-49", _("10–49 employees")
        MEDIUM = "50-249", _("50–249 employees")
        LARGE = "250-999", _("250–999 employees")
        ENTERPRISE = "1000+", _("1,000 or more employees")

    class Status(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    class Lifecycle(models.TextChoices):
        """Where the account is in its life with us; derived from orders and interactions (analytics)."""

        PROSPECT = "prospect", _("Prospect")
        NEW = "new", _("New customer")
        ACTIVE = "active", _("Active / repeat")
        AT_RISK = "at_risk", _("At risk")
        CHURNED = "churned", _("Churned")
        WON_BACK = "won_back", _("Won back")

    object_type = "customers.account"

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("Latin name"), max_length=200, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        verbose_name=_("parent account"),
    )
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164"))
    email = models.EmailField(_("email"), blank=True)
    # The main address, on the row so lists can show and filter by city and province cheaply.
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    street = models.CharField(_("street"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Scores kept on the row because lower apps filter and route by them (SLA policies, ticket routing,
    # lead assignment, list filters); the analytics app computes them, see ``kehu.customers.grading``.
    grade = models.CharField(_("grade"), max_length=30, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=Lifecycle.choices, blank=True
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="account_ws_created"),
            # "Own" scope lists (owner = me, newest first) read in index order, without a sort.
            models.Index(
                fields=["workspace", "owner", "-created_at", "-id"], name="account_ws_owner_created"
            ),
            models.Index(fields=["workspace", "name"], name="account_ws_name"),
            models.Index(fields=["workspace", "name_pinyin"], name="account_ws_pinyin"),
            models.Index(F("workspace"), pinyin_stem(), name="account_ws_pinyin_stem"),
            # City filter of the list, newest first: read in index order, no sort of the city's rows.
            models.Index(fields=["workspace", "city", "-created_at", "-id"], name="account_ws_city_created"),
            # Child accounts by name (the account page): filter and order from one index.
            models.Index(fields=["workspace", "parent", "name"], name="account_ws_parent_name"),
            models.Index(fields=["workspace", "grade"], name="account_ws_grade"),
            models.Index(fields=["workspace", "lifecycle_stage"], name="account_ws_lifecycle"),
            # A rep's own accounts grouped by grade / stage (reports and the customer-value dashboard).
            models.Index(fields=["workspace", "owner", "grade"], name="account_ws_owner_grade"),
            models.Index(fields=["workspace", "owner", "lifecycle_stage"], name="account_ws_owner_lifecycle"),
        ]

    def __str__(self) -> str:
        return self.name


class OwnedRollup(models.Model):
    """Base of the reports' rollups (this one and ``commerce.OrderRollup``): pre-grouped counts of
    owned records kept by triggers. ``owner``/``team`` carry the records' values (no constraint: a
    row may outlive a deleted user with a count of 0), so the records' scope filter applies as is."""

    # No single-column indexes: the unique key (workspace, …) serves every read and the cascade.
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    objects = ScopedManager(workspace="workspace")

    class Meta:
        abstract = True


class AccountRollup(OwnedRollup):
    """Accounts counted per (owner, team, grade, lifecycle stage, kind, size, status): what reports
    read instead of a million accounts when a report's groups and filters fit (``kehu.reports.rollups``).

    Kept by database triggers on ``customers_account`` (migration ``0015``; PostgreSQL: one grouped
    upsert per statement from its transition tables), so every write path — services,
    ``QuerySet.update``, the analytics engine's raw SQL, imports, deletes — keeps it exact in the same
    transaction. Rows reaching 0 are kept; readers skip them. Derived data: not exported (the
    import's inserts rebuild it).
    """

    grade = models.CharField(max_length=30, blank=True)
    lifecycle_stage = models.CharField(max_length=20, choices=Account.Lifecycle.choices, blank=True)
    kind = models.CharField(max_length=20, choices=Account.Kind.choices)
    size = models.CharField(max_length=10, choices=Account.Size.choices, blank=True)
    status = models.CharField(max_length=20, choices=Account.Status.choices)
    account_count = models.BigIntegerField(default=0)

    # The unique key (every column above but the count; NULLs as 0) is an expression index made by
    # the migration; it starts with (workspace, owner) for a rep's own-scope reads.

    def __str__(self) -> str:
        return f"{self.owner_id}/{self.grade}/{self.lifecycle_stage}: {self.account_count}"


class Contact(OwnedRecord):
    """A person, usually at one or more accounts."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")

    object_type = "customers.contact"

    # No single-column workspace index: every index of the table starts with the workspace (the
    # cascade and scoped reads use those), and each index costs every imported row.
    workspace = workspace_key(db_index=False)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("Latin name"), max_length=200, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)
    # The primary account; every account the person relates to is in AccountContact.
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("account"),
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164"))
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True
    )
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    social = models.JSONField(
        _("social accounts"), default=dict, blank=True, help_text=_('e.g. {"wechat": "…", "linkedin": "…"}')
    )
    consent_email = models.BooleanField(_("agrees to marketing email"), default=False)
    consent_sms = models.BooleanField(_("agrees to marketing SMS"), default=False)
    consent_phone = models.BooleanField(_("agrees to marketing calls"), default=False)
    consent_updated_at = models.DateTimeField(_("consent updated"), null=True, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created"),
            # "Own" scope lists (owner = me, newest first) read in index order, without a sort.
            models.Index(
                fields=["workspace", "owner", "-created_at", "-id"], name="contact_ws_owner_created"
            ),
            models.Index(fields=["workspace", "email"], name="contact_ws_email"),
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone"),
            models.Index(fields=["workspace", "name"], name="contact_ws_name"),
            models.Index(fields=["workspace", "name_pinyin"], name="contact_ws_pinyin"),
            models.Index(F("workspace"), pinyin_stem(), name="contact_ws_pinyin_stem"),
            # (workspace, account) lookups use the account's own index: an account is in one workspace.
        ]

    def __str__(self) -> str:
        return self.name


class AccountContact(WorkspaceModel):
    """A person's relation to an account, with the part they play in buying decisions."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        INFLUENCER = "influencer", _("Influencer")
        CHAMPION = "champion", _("Champion")
        USER = "user", _("User")
        PURCHASING = "purchasing", _("Purchasing")
        TECHNICAL = "technical", _("Technical contact")
        FINANCE = "finance", _("Finance")
        OTHER = "other", _("Other")

    # Indexed by the unique key (workspace first) and the two foreign keys' own indexes: a contact's
    # relations are found by ``contact_id`` alone (a contact is in one workspace).
    workspace = workspace_key(db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="relations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="relations")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.USER)
    is_primary = models.BooleanField(_("primary account"), default=False)

    class Meta:
        verbose_name = _("account relation")
        verbose_name_plural = _("account relations")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "account", "contact"], name="account_contact_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.account_id} ({self.role})"


class ContactPoint(WorkspaceModel):
    """One phone number or email address of an account or a contact, typed, normalised."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    class Label(models.TextChoices):
        WORK = "work", _("Work")
        MOBILE = "mobile", _("Mobile")
        HOME = "home", pgettext_lazy("place", "Home")  # not the home page
        FAX = "fax", _("Fax")
        OTHER = "other", _("Other")

    # Indexed by the (workspace, kind, value) lookup and the owners' own indexes, nothing else: an
    # import writes two of these per contact.
    workspace = workspace_key(db_index=False)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_points"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_points"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, default=Label.WORK)
    value = models.CharField(_("value"), max_length=254, help_text=_("E.164 phone or lower-case email"))
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("phone or email")
        verbose_name_plural = _("phones and emails")
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False, contact__isnull=True)
                | Q(account__isnull=True, contact__isnull=False),
                name="contact_point_one_owner",
            ),
        ]
        indexes = [
            # Find a record by any of its phones or emails (search, duplicate checks, inbound mail).
            models.Index(fields=["workspace", "kind", "value"], name="contact_point_lookup"),
        ]

    def __str__(self) -> str:
        return self.value


class Address(WorkspaceModel):
    """A structured address of an account or contact (office, billing, shipping …), typed.

    An account's *primary* address is mirrored in the account's own country … postcode columns
    (lists show and filter by city without a join); the services keep the two in step, as they do
    for phones and emails.
    """

    class Kind(models.TextChoices):
        OFFICE = "office", _("Office")
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")
        HOME = "home", pgettext_lazy("place", "Home")  # not the home page
        OTHER = "other", _("Other")

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OFFICE)
    country = models.CharField(_("country"), max_length=2, blank=True)
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    street = models.CharField(_("street"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False, contact__isnull=True)
                | Q(account__isnull=True, contact__isnull=False),
                name="address_one_owner",
            ),
            models.UniqueConstraint(
                fields=["workspace", "account"],
                condition=Q(is_primary=True, account__isnull=False),
                name="address_one_primary_per_account",
            ),
            models.UniqueConstraint(
                fields=["workspace", "contact"],
                condition=Q(is_primary=True, contact__isnull=False),
                name="address_one_primary_per_contact",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "account"], name="address_by_account"),
            models.Index(fields=["workspace", "contact"], name="address_by_contact"),
        ]

    def __str__(self) -> str:
        return " ".join(
            p for p in (self.province, self.city, self.district, self.street, self.postcode) if p
        )


class Tag(WorkspaceModel):
    """A label that can be put on any record (accounts, contacts, later leads and tickets)."""

    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#6366f1")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class TaggedRecord(WorkspaceModel):
    """A tag on one record of any object type."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="uses")
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "tag", "object_type", "object_id"], name="tagged_record_unique"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "object_type", "object_id"], name="tagged_by_record")]
