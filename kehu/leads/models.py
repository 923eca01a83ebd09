"""Leads (prospects not yet qualified), the public web-to-lead forms that capture them, the ordered
rules that assign them, and the possible duplicates found when they arrive.

A lead keeps its person and company on its own row (leads are short-lived and mostly read one by one
or in lists); converting it creates an account, a contact and optionally an opportunity and
remembers them, so a second conversion answers with the same records.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import OwnedRecord, WorkspaceModel
from kehu.customers.models import Account
from kehu.customers.normalize import pinyin_stem


class Lead(OwnedRecord):
    """A prospect: a person (and their company) who may become a customer."""

    class Source(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        EVENT = "event", _("Event")
        REFERRAL = "referral", _("Referral")
        AD_CAMPAIGN = "ad_campaign", _("Ad campaign")
        MANUAL = "manual", _("Entered by hand")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")

    Size = Account.Size  # the same size bands as accounts, so conversion carries them over

    object_type = "leads.lead"

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("Latin name"), max_length=200, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164"))
    website = models.URLField(_("website"), blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Account.Size.choices, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    disqualified_reason = models.CharField(_("reason for disqualifying"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Written by the scoring app (0–100); null until scored.
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True, editable=False)
    score_updated_at = models.DateTimeField(_("scored at"), null=True, blank=True, editable=False)
    web_form = models.ForeignKey(
        "leads.WebForm",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        verbose_name=_("web form"),
        editable=False,
    )
    assigned_by_rule = models.ForeignKey(
        "leads.AssignmentRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned by rule"),
        editable=False,
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True, editable=False)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True, editable=False)
    converted_account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted to account"),
        editable=False,
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted to contact"),
        editable=False,
    )
    converted_opportunity = models.ForeignKey(
        "deals.Opportunity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted to opportunity"),
        editable=False,
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="lead_ws_created"),
            models.Index(fields=["workspace", "owner", "-created_at", "-id"], name="lead_ws_owner_created"),
            models.Index(fields=["workspace", "status", "-created_at", "-id"], name="lead_ws_status_created"),
            # "Hottest leads first" lists of the scoring app.
            models.Index(fields=["workspace", "-score", "-id"], name="lead_ws_score"),
            models.Index(fields=["workspace", "email"], name="lead_ws_email"),
            models.Index(fields=["workspace", "phone"], name="lead_ws_phone"),
            models.Index(fields=["workspace", "name"], name="lead_ws_name"),
            models.Index(fields=["workspace", "name_pinyin"], name="lead_ws_pinyin"),
            models.Index(F("workspace"), pinyin_stem(), name="lead_ws_pinyin_stem"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    @property
    def is_converted(self) -> bool:
        return self.converted_at is not None


class LeadDuplicate(WorkspaceModel):
    """A lead that may be the same person as an earlier lead or a contact, found when it arrived."""

    class Reason(models.TextChoices):
        EMAIL = "email", _("Same email")
        PHONE = "phone", _("Same phone")
        NAME_COMPANY = "name_company", _("Similar name and company")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="duplicates")
    other_lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    other_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    similarity = models.PositiveSmallIntegerField(_("similarity"), default=100)
    # Set when a user chose "keep both": the pair is no longer flagged.
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.CheckConstraint(
                condition=Q(other_lead__isnull=False, other_contact__isnull=True)
                | Q(other_lead__isnull=True, other_contact__isnull=False),
                name="lead_duplicate_one_target",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "lead"], name="lead_duplicate_by_lead")]


class WebForm(WorkspaceModel):
    """A public web-to-lead form: which fields it asks, what happens after a submission."""

    # Fields a public form may offer (never owner, status, score …).
    FIELD_CHOICES = (
        "name",
        "name_en",
        "title",
        "company",
        "email",
        "phone",
        "website",
        "country",
        "province",
        "city",
        "industry",
        "size",
        "description",
    )

    name = models.CharField(_("name"), max_length=100)
    # Public address /f/<token>: found before the workspace is known, so unique across workspaces.
    token = models.CharField(_("form address"), max_length=32, unique=True, editable=False)
    fields = models.JSONField(_("fields"), default=list, help_text=_("Lead fields the form asks, in order"))
    required_fields = models.JSONField(_("required fields"), default=list)
    submit_label = models.CharField(_("button text"), max_length=60, blank=True)
    thank_you_text = models.TextField(_("thank-you text"), blank=True)
    redirect_url = models.URLField(_("redirect after submitting"), blank=True)
    default_source = models.CharField(
        _("source"), max_length=20, choices=Lead.Source.choices, default=Lead.Source.WEB_FORM
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default owner"),
        help_text=_("Owner when no assignment rule matches"),
    )
    run_assignment = models.BooleanField(_("run the assignment rules"), default=True)
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        help_text=_("One site per line (https://www.example.com); empty accepts posts from any site"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    submission_count = models.PositiveIntegerField(_("submissions"), default=0, editable=False)

    class Meta:
        verbose_name = _("web-to-lead form")
        verbose_name_plural = _("web-to-lead forms")
        indexes = [models.Index(fields=["workspace", "name"], name="webform_ws_name")]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(WorkspaceModel):
    """If a new lead matches the conditions, it goes to a user, or round-robin to a team's members."""

    CONDITION_FIELDS = ("country", "province", "city", "industry", "source", "size")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # [{"field": "province" | … | "custom.<key>", "op": "eq" | "in", "value": str | [str]}]; all must hold.
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assign to user"),
    )
    team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assign to team"),
    )
    # Within a team: {"<user id>": weight}; members not listed weigh 1, weight 0 skips a member.
    weights = models.JSONField(_("weights"), default=dict, blank=True)
    daily_cap = models.PositiveIntegerField(
        _("daily cap per user"), null=True, blank=True, help_text=_("Empty for no cap")
    )
    sla_hours = models.PositiveIntegerField(_("first contact within (hours)"), default=24)

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        indexes = [models.Index(fields=["workspace", "position", "id"], name="assignrule_ws_position")]

    def __str__(self) -> str:
        return self.name


class AssignmentState(WorkspaceModel):
    """Round-robin state of one team member under one rule (smooth weighted round-robin)."""

    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    current = models.IntegerField(default=0)
    day = models.DateField(null=True, blank=True)
    day_count = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "rule", "user"], name="assignstate_unique"),
        ]
