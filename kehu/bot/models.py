"""The service bot's conversations and turns (kept for measurement and the deflection rate).

A conversation is named to the outside by a random ``token`` (the widget's and the API's
"conversation id"), never by its row id, so one visitor cannot read or continue another's.
Deflected = the conversation's last answer came from the bot and it was never handed over.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class BotConversation(WorkspaceModel):
    class Channel(models.TextChoices):
        WIDGET = "widget", _("Help centre widget")
        API = "api", _("API")

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLARIFYING = "clarifying", _("Asked to clarify")
        HANDED_OVER = "handed_over", _("Handed over")

    token = models.UUIDField(default=uuid.uuid4, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WIDGET)
    language = models.CharField(_("language"), max_length=10, blank=True)
    email = models.EmailField(_("email"), blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.OPEN)
    low_confidence_count = models.PositiveSmallIntegerField(default=0)
    turn_count = models.PositiveSmallIntegerField(default=0)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    ticket_number = models.PositiveIntegerField(_("ticket number"), null=True, blank=True)

    class Meta:
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")
        indexes = [
            models.Index(fields=["workspace", "token"], name="bot_conv_token"),
            models.Index(fields=["workspace", "created_at"], name="bot_conv_created"),
        ]

    @property
    def deflected(self) -> bool:
        return self.outcome == self.Outcome.ANSWERED and self.handed_over_at is None


class BotTurn(WorkspaceModel):
    class Action(models.TextChoices):
        ANSWER = "answer", _("Answer")
        CLARIFY = "clarify", _("Clarify")
        HANDOVER = "handover", _("Handover")

    conversation = models.ForeignKey(BotConversation, on_delete=models.CASCADE, related_name="turns")
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"), blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    article = models.ForeignKey(
        "knowledge.Article",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("cited article"),
    )
    confidence = models.FloatField(_("confidence"), default=0.0)
    candidates = models.JSONField(_("candidate articles"), default=list, blank=True)
    latency_ms = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("bot turn")
        verbose_name_plural = _("bot turns")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["workspace", "conversation", "created_at"], name="bot_turn_conv")]
