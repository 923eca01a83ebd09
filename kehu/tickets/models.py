"""Service tickets (cases and complaints), their threaded conversation and attachments, the workspace's
ticket categories and routing rules.

A ticket's SLA state lives in columns on its own row (due dates, pause stamp, breach stamps), written
by the services with ``kehu.sla``'s business-minute arithmetic, so a list page shows every row's SLA
badge without a query per row (``Ticket.sla_state``).
"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.core.models import OwnedRecord, WorkspaceModel


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    WECHAT = "wechat", _("WeChat")
    API = "api", _("API")
    BOT = "bot", _("Service bot")


class Ticket(OwnedRecord):
    """A customer's request, question, incident or complaint. ``owner`` is the assignee, ``team`` the
    queue."""

    class Type(models.TextChoices):
        INQUIRY = "inquiry", _("Inquiry")
        COMPLAINT = "complaint", _("Complaint")
        REQUEST = "request", _("Request")
        INCIDENT = "incident", _("Incident")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("ticket status", "New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING = "pending", _("Pending customer")
        ON_HOLD = "on_hold", _("On hold")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")
        REOPENED = "reopened", _("Reopened")

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MODERATE = "moderate", _("Moderate")
        MAJOR = "major", _("Major")
        CRITICAL = "critical", _("Critical")

    class RootCause(models.TextChoices):
        PRODUCT = "product_defect", _("Product defect")
        DELIVERY = "delivery", _("Delivery / logistics")
        SERVICE = "service", _("Service attitude")
        BILLING = "billing", _("Billing / pricing")
        COMMUNICATION = "communication", _("Communication")
        OTHER = "other", pgettext_lazy("root cause", "Other")

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("Upheld")
        PARTIAL = "partially_upheld", _("Partially upheld")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    Channel = Channel
    object_type = "tickets.ticket"

    number = models.PositiveIntegerField(_("number"), editable=False)
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
    )
    # Who wrote in when no contact matched (public form, unknown mail sender): replies go here.
    requester_email = models.EmailField(_("requester email"), blank=True)
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    type = models.CharField(_("type"), max_length=12, choices=Type.choices, default=Type.INQUIRY)
    category = models.CharField(_("category"), max_length=100, blank=True)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    language = models.CharField(_("language"), max_length=10, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    order = models.ForeignKey(
        "commerce.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("order"),
    )
    product = models.ForeignKey(
        "commerce.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product"),
    )
    opportunity = models.ForeignKey(
        "deals.Opportunity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("opportunity"),
    )
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    # Complaint fields (type "complaint").
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    root_cause = models.CharField(_("root cause"), max_length=20, choices=RootCause.choices, blank=True)
    compensation_amount = models.DecimalField(
        _("compensation amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    compensation = models.CharField(_("compensation"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    # SLA, written by the services (kehu.sla's arithmetic); the badge is computed from these alone.
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("SLA policy"),
        editable=False,
    )
    first_response_due_at = models.DateTimeField(
        _("first response due"), null=True, blank=True, editable=False
    )
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True, editable=False)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True, editable=False)
    sla_paused_minutes = models.PositiveIntegerField(_("SLA minutes paused"), default=0, editable=False)
    sla_warned_at = models.DateTimeField(_("SLA warning sent"), null=True, blank=True, editable=False)
    sla_breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True, editable=False)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now, editable=False)
    # Business minutes from opening to the first public reply / to resolution on the SLA policy's
    # calendar, paused time left out; stamped with first_responded_at / resolved_at (the service
    # dashboard's percentiles read them). Null without an SLA policy or before that moment.
    first_response_business_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True, editable=False
    )
    resolution_business_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [models.UniqueConstraint(fields=["workspace", "number"], name="ticket_ws_number")]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="ticket_ws_created"),
            # Queue views: status (+ queue, + priority) filters, newest first, one range scan each.
            models.Index(
                fields=["workspace", "status", "team", "priority", "-created_at", "-id"],
                name="ticket_ws_queue",
            ),
            models.Index(fields=["workspace", "status", "-created_at", "-id"], name="ticket_ws_status"),
            # "My open tickets" and the least-loaded count of open tickets per agent.
            models.Index(fields=["workspace", "owner", "status", "-created_at"], name="ticket_ws_owner"),
            models.Index(fields=["workspace", "account", "-created_at"], name="ticket_ws_account"),
            models.Index(fields=["workspace", "contact", "-created_at"], name="ticket_ws_contact"),
            models.Index(fields=["workspace", "type", "-created_at"], name="ticket_ws_type"),
            # The escalation job (all workspaces, once a minute): running clocks whose due time passed.
            # Partial, so only tickets whose clock still runs are in them.
            models.Index(
                fields=["first_response_due_at"],
                name="ticket_first_due_running",
                condition=Q(
                    first_responded_at__isnull=True,
                    sla_paused_at__isnull=True,
                    first_response_due_at__isnull=False,
                ),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="ticket_resolution_due_running",
                condition=Q(
                    resolved_at__isnull=True, sla_paused_at__isnull=True, resolution_due_at__isnull=False
                ),
            ),
            # The auto-close job: resolved tickets by resolution time.
            models.Index(fields=["resolved_at"], name="ticket_resolved_open", condition=Q(status="resolved")),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def reference(self) -> str:
        """The ticket's reference in mail subjects: ``[#1234]``."""
        return f"[#{self.number}]"

    @property
    def is_complaint(self) -> bool:
        return self.type == self.Type.COMPLAINT

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)

    def sla_state(self, now=None) -> str:
        """met | ok | warning | breached | paused | "" (no SLA), from this row's columns only."""
        from .sla import sla_state

        return sla_state(self, now)


class TicketEntry(WorkspaceModel):
    """One message of a ticket's conversation: the customer's, a public reply or an internal note."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer message")
        REPLY = "reply", _("Reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    sender_email = models.EmailField(_("sender email"), blank=True)
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    # The mail's HTML part as received; kept, never rendered as is (the page shows ``body``).
    body_html = models.TextField(blank=True)
    message_id = models.CharField(_("message ID"), max_length=255, blank=True)
    in_reply_to = models.CharField(_("in reply to"), max_length=255, blank=True)
    activity = models.ForeignKey(
        "activities.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("ticket entry")
        verbose_name_plural = _("ticket entries")
        indexes = [
            models.Index(fields=["workspace", "ticket", "created_at", "id"], name="ticketentry_thread"),
            # Mail threading: In-Reply-To / References against the entries' Message-IDs.
            models.Index(
                fields=["workspace", "message_id"], name="ticketentry_message_id", condition=~Q(message_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


@deconstructible(path="kehu.tickets.models.AttachmentStorage")
class AttachmentStorage(FileSystemStorage):
    """Files under ``DATA_DIR/ticket-attachments``, read when first used (so a test's temporary data
    dir applies) and never written into migrations as a concrete path."""

    @cached_property
    def base_location(self):
        return Path(settings.DATA_DIR) / "ticket-attachments"

    @cached_property
    def location(self):
        return str(Path(self.base_location).resolve())


attachment_storage = AttachmentStorage()


def _attachment_path(instance, filename: str) -> str:
    return f"{instance.workspace_id}/{timezone.now():%Y/%m}/{filename}"


class TicketAttachment(WorkspaceModel):
    """A file sent with an entry; downloaded through a permission-checked view, never served directly."""

    entry = models.ForeignKey(TicketEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=_attachment_path, storage=attachment_storage, max_length=300)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["workspace", "entry"], name="ticketattachment_entry")]

    def __str__(self) -> str:
        return self.name


class TicketCounter(WorkspaceModel):
    """The workspace's last ticket number (its row is locked while a number is handed out)."""

    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="ticket_counter_one_per_ws")]


class TicketCategory(WorkspaceModel):
    """One of the workspace's ticket categories (a ticket keeps the name)."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="ticketcategory_unique")]

    def __str__(self) -> str:
        return self.name


class RoutingRule(WorkspaceModel):
    """If a new ticket matches the conditions, it goes to a queue (team) and/or an agent.

    ``conditions``: ``{"channel": [...], "category": [...], "grade": [...], "language": [...],
    "keywords": [...]}``; a missing or empty list matches anything, keywords match the subject or the
    description (any of them, case-insensitive). The first active matching rule by position wins.
    """

    class Assignment(models.TextChoices):
        NONE = "none", _("Queue only (nobody assigned)")
        USER = "user", _("The chosen agent")
        ROUND_ROBIN = "round_robin", _("Round-robin within the team")
        LEAST_LOADED = "least_loaded", _("Least loaded team member (fewest open tickets)")

    CONDITION_KEYS = ("channel", "category", "grade", "language", "keywords")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("queue (team)"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
    )
    assignment = models.CharField(
        _("assignment"), max_length=15, choices=Assignment.choices, default=Assignment.NONE
    )
    # Round-robin: who got the rule's last ticket (the next goes to the member after them).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        indexes = [models.Index(fields=["workspace", "position", "id"], name="ticketrouting_ws_position")]

    def __str__(self) -> str:
        return self.name
