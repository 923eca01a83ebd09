"""Satisfaction surveys: CSAT after a resolved ticket, NPS campaigns to a list of contacts.

An ``Invitation`` is one person's unguessable link (only the SHA-256 of its token is stored, so a
database dump cannot answer surveys); a ``SurveyResponse`` is the answer, with the comment's
sentiment and the version of the method that computed it (recomputed when the method changes).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.models import OwnedRecord, WorkspaceModel


class Kind(models.TextChoices):
    CSAT = "csat", _("CSAT (1–5)")
    NPS = "nps", _("NPS (0–10)")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Survey(OwnedRecord):
    """A survey campaign (NPS or CSAT) sent to an audience of contacts in batches."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")

    object_type = "surveys.survey"

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NPS)
    question_zh = models.CharField(_("question (Chinese)"), max_length=300, blank=True)
    question_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Audience: the contacts of a saved contact list view, or those whose account has one of the
    # grades / lifecycle stages (both empty + no view = every contact with email consent).
    audience_view = models.ForeignKey(
        "listviews.SavedView",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("saved view"),
    )
    audience_grades = models.JSONField(_("account grades"), default=list, blank=True)
    audience_stages = models.JSONField(_("lifecycle stages"), default=list, blank=True)
    valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=30)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="survey_ws_created")]

    def __str__(self) -> str:
        return self.name

    def question(self, language: str) -> str:
        if (language or "").startswith("zh"):
            return self.question_zh or self.question_en
        return self.question_en or self.question_zh


class Invitation(WorkspaceModel):
    """One recipient's link: a CSAT for one ticket, or one contact's place in an NPS campaign."""

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("ticket"),
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    token_hash = models.CharField(max_length=64, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [
            # One CSAT per ticket; one invitation per contact per campaign.
            models.UniqueConstraint(
                fields=["workspace", "ticket"], condition=Q(kind="csat"), name="invitation_one_per_ticket"
            ),
            models.UniqueConstraint(
                fields=["workspace", "survey", "contact"],
                condition=Q(survey__isnull=False),
                name="invitation_one_per_contact",
            ),
            # The public link's lookup: the workspace (from the address) and the token's hash.
            models.UniqueConstraint(fields=["workspace", "token_hash"], name="invitation_ws_token"),
        ]
        indexes = [models.Index(fields=["workspace", "survey", "sent_at"], name="invitation_ws_survey")]

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()


class SurveyResponse(WorkspaceModel):
    """An answer: the score (CSAT 1–5, NPS 0–10), an optional comment and the comment's sentiment."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="responses")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="responses"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("ticket"),
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(_("sentiment score"), null=True, blank=True)
    sentiment_version = models.CharField(max_length=20, blank=True)
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)
    # Until then the respondent may change the score and the comment; later clicks change nothing.
    editable_until = models.DateTimeField(_("editable until"))
    activity = models.ForeignKey(
        "activities.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "invitation"], name="response_one_per_invitation")
        ]
        indexes = [
            models.Index(fields=["workspace", "kind", "answered_at"], name="response_ws_kind_time"),
            models.Index(fields=["workspace", "contact", "answered_at"], name="response_ws_contact"),
            models.Index(fields=["workspace", "account", "answered_at"], name="response_ws_account"),
            models.Index(fields=["workspace", "survey", "answered_at"], name="response_ws_survey"),
            models.Index(fields=["workspace", "sentiment_version"], name="response_ws_sentver"),
        ]

    @property
    def is_open(self) -> bool:
        return timezone.now() < self.editable_until


def csat_valid_days() -> int:
    return getattr(settings, "SURVEYS_CSAT_VALID_DAYS", 14)
