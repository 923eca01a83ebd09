"""Support mailboxes: where customers' mail is fetched from (IMAP) and replies are sent from (SMTP).

A mailbox's IMAP password is stored encrypted (``kehu.mailboxes.secrets``) and never shown back;
``InboundMail`` logs what each fetched or pushed mail became, ``OutboundMail`` is one public reply's
delivery by SMTP with its status and retries.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class Mailbox(WorkspaceModel):
    """A support address whose IMAP folder is polled for new mail; replies go out from it."""

    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("address"), help_text=_("Replies are sent from this address."))
    imap_host = models.CharField(_("IMAP server"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("use SSL/TLS"), default=True)
    imap_user = models.CharField(_("IMAP user"), max_length=200, blank=True)
    # Fernet token of the password (secrets.encrypt); the audit log masks it, forms never show it.
    imap_password = models.TextField(_("IMAP password"), blank=True, editable=False)
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    # The folder's UIDVALIDITY when last_uid was seen: when the server renumbers, we start over
    # (Message-ID checks keep mails already taken from becoming tickets twice).
    uid_validity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True, editable=False)
    last_uid = models.PositiveBigIntegerField(_("last UID seen"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Polled every minute."))
    default_team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default queue (team)"),
        help_text=_("New tickets go to this queue unless a routing rule says otherwise."),
    )
    default_category = models.CharField(_("default category"), max_length=100, blank=True)
    mailer = models.CharField(
        _("SMTP mailer"),
        max_length=50,
        default="default",
        help_text=_("The outgoing mail server configured for Kehu (MAILERS) that sends the replies."),
    )
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "address"], name="mailbox_ws_address"),
        ]
        indexes = [models.Index(fields=["is_active", "workspace"], name="mailbox_active")]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def has_password(self) -> bool:
        return bool(self.imap_password)


class InboundMail(WorkspaceModel):
    """One mail taken in (IMAP or webhook) and what it became."""

    class Outcome(models.TextChoices):
        OPENED = "opened", _("New ticket")
        ADDED = "added", _("Added to a ticket")
        DUPLICATE = "duplicate", _("Duplicate (ignored)")
        AUTO = "auto", _("Auto-reply or bounce (ignored)")
        REJECTED = "rejected", _("Not taken")

    mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound",
        verbose_name=_("mailbox"),
    )
    message_id = models.CharField(_("message ID"), max_length=255)
    sender = models.CharField(_("from"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("ticket"),
    )
    entry = models.ForeignKey(
        "tickets.TicketEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mails")
        indexes = [
            models.Index(fields=["workspace", "message_id"], name="inboundmail_message_id"),
            models.Index(fields=["workspace", "mailbox", "-created_at"], name="inboundmail_mailbox"),
            # The reply's mailbox: the one the ticket's mail last came through.
            models.Index(fields=["workspace", "ticket", "-created_at"], name="inboundmail_ticket"),
        ]

    def __str__(self) -> str:
        return self.message_id


class OutboundMail(WorkspaceModel):
    """The SMTP delivery of one public reply: status, attempts, the error of the last one."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Failed")

    entry = models.ForeignKey(
        "tickets.TicketEntry",
        on_delete=models.CASCADE,
        related_name="outbound_mails",
        verbose_name=_("reply"),
    )
    mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("mailbox"),
    )
    to = models.EmailField(_("to"))
    message_id = models.CharField(_("message ID"), max_length=255)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mails")
        constraints = [
            # One mail per reply (queue_reply checks first; this holds under a race).
            models.UniqueConstraint(fields=["workspace", "entry"], name="outboundmail_one_per_entry"),
        ]
        indexes = [
            # The scheduler's retry scan (all workspaces): only deliveries still waiting are in it.
            models.Index(
                fields=["next_attempt_at"],
                name="outboundmail_due",
                condition=Q(status__in=["queued", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to} ({self.status})"
