"""The service bot: one question in, an answer / a clarification / a handover out, every turn stored.

Rules (``engine`` decides from the knowledge base; this module keeps the conversation):
* the customer asks for a person ("人工", "转人工", "human", "agent" …) → handover at once;
* confidence ≥ the threshold → answer with the cited article;
* under it → the first time, clarify: offer the 2–3 best articles as choices (or ask to rephrase);
  the second time in the same conversation → handover;
* picking an offered article answers with it.
A handover opens a ticket (channel "bot") with the whole transcript as its description; the contact
is matched by the email the customer gave.
"""

import time
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope

from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.core.normalize import normalize_email
from kehu.knowledge.models import Article
from kehu.knowledge.rendering import excerpt
from kehu.knowledge.services import record_view
from kehu.tickets.services import open_ticket, system_actor

from . import engine
from .models import BotConversation, BotTurn

MAX_QUESTION = 1000
MAX_TURNS = 50


@dataclass
class Cited:
    id: int
    title: str
    url: str


@dataclass
class Reply:
    conversation_id: str
    action: str
    answer: str
    confidence: float
    article: Cited | None = None
    choices: list[Cited] = field(default_factory=list)
    ticket_number: int | None = None


def article_url(article: Article) -> str:
    return reverse("knowledge:help-article", args=[article.workspace.slug, article.pk])


def _cite(article: Article) -> Cited:
    return Cited(article.pk, article.title, article_url(article))


def _answer_text(article: Article) -> str:
    return article.summary or excerpt(article.body, article.body_format, 400)


def _conversation(workspace, token, channel: str, language: str, email: str, name: str) -> BotConversation:
    if token:
        try:
            key = uuid.UUID(str(token))
        except ValueError:
            raise NotFound(_("No such conversation.")) from None
        conversation = BotConversation.objects.select_for_update().filter(token=key).first()
        if conversation is None:
            raise NotFound(_("No such conversation."))
        changed = []
        if email and not conversation.email:
            conversation.email, changed = email, [*changed, "email"]
        if name and not conversation.name:
            conversation.name, changed = name[:100], [*changed, "name"]
        if changed:
            conversation.save(update_fields=changed)
        return conversation
    return BotConversation.objects.create(
        workspace=workspace, channel=channel, language=language, email=email, name=name[:100]
    )


def _turns(conversation: BotConversation) -> list[BotTurn]:
    return list(conversation.turns.order_by("created_at", "pk"))


def transcript(conversation: BotConversation, turns: list[BotTurn] | None = None) -> str:
    lines = []
    for turn in _turns(conversation) if turns is None else turns:
        lines.append(f"{_('Customer')}: {turn.question}")
        if turn.answer:
            lines.append(f"{_('Bot')}: {turn.answer}")
    return "\n".join(lines)


def _handover(conversation: BotConversation, question: str) -> int:
    """Open the ticket (once per conversation); its number."""
    if conversation.ticket_number:
        return conversation.ticket_number
    turns = _turns(conversation)  # one read for the subject and the transcript
    subject = (turns[0].question if turns else question).strip().splitlines()[0][:150]
    ticket = open_ticket(
        system_actor(conversation.workspace, "bot"),
        subject=subject or _("Question from the service bot"),
        description=transcript(conversation, turns),
        channel="bot",
        sender_email=conversation.email,
        sender_name=conversation.name,
        language=conversation.language,
    )
    return ticket.number


@transaction.atomic
def ask(
    workspace,
    question: str,
    *,
    conversation_id: str | None = None,
    language: str | None = None,
    channel: str = BotConversation.Channel.API,
    email: str = "",
    name: str = "",
    choice: int | None = None,
    handover: bool = False,
) -> Reply:
    """Answer one question of a conversation (a new one without ``conversation_id``).

    ``choice``: the id of an article the bot offered; ``handover``: the customer pressed
    "talk to a person"."""
    started = time.perf_counter()
    question = " ".join((question or "").split())[:MAX_QUESTION]
    errors = []
    if not question and choice is None and not handover:
        errors.append(FieldError("question", _("Ask a question."), "required"))
    if language not in (None, "", "zh-hans", "en"):
        errors.append(FieldError("language", _("Choose one of: %s.") % "zh-hans, en", "invalid_choice"))
    if email:
        try:
            email = normalize_email(email)
        except ValueError as error:
            errors.append(FieldError("email", str(error), "invalid"))
    if errors:
        raise ValidationFailed(errors)
    with scope(workspace=workspace):
        conversation = _conversation(
            workspace,
            conversation_id,
            channel,
            language or (engine.language_of(question) if question else ""),
            email or "",
            name or "",
        )
        if conversation.turn_count >= MAX_TURNS:
            raise ValidationFailed(
                [FieldError("conversation_id", _("This conversation is too long."), "too_long")]
            )
        lang = language or (engine.language_of(question) if question else conversation.language) or "en"
        with translation.override(lang):
            reply = _respond(workspace, conversation, question, lang, choice, handover)
            turn = BotTurn.objects.create(
                workspace=workspace,
                conversation=conversation,
                question=question or "—",
                answer=reply.answer,
                action=reply.action,
                article_id=reply.article.id if reply.article else None,
                confidence=reply.confidence,
                candidates=[c.id for c in reply.choices],
            )
            if reply.action == BotTurn.Action.HANDOVER:
                reply.ticket_number = _handover(conversation, question)
                if reply.ticket_number:
                    reply.answer = _(
                        "I have passed your question to our team: ticket #%(number)s. "
                        "A colleague will get back to you."
                    ) % {"number": reply.ticket_number}
                    turn.answer = reply.answer
        outcome = {
            "answer": BotConversation.Outcome.ANSWERED,
            "clarify": BotConversation.Outcome.CLARIFYING,
            "handover": BotConversation.Outcome.HANDED_OVER,
        }[reply.action]
        conversation.turn_count += 1
        if conversation.handed_over_at is None:
            conversation.outcome = outcome
        if reply.action == "handover" and conversation.handed_over_at is None:
            conversation.handed_over_at = timezone.now()
            conversation.ticket_number = reply.ticket_number
        conversation.save()
        turn.latency_ms = (time.perf_counter() - started) * 1000
        turn.save(update_fields=["answer", "latency_ms"])
    reply.conversation_id = str(conversation.token)
    return reply


def _respond(workspace, conversation, question, lang, choice, handover) -> Reply:
    token = str(conversation.token)
    if choice is not None:
        article = Article.objects.filter(
            pk=choice, status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC
        ).first()
        if article is None:
            raise NotFound(_("No such article."))
        record_view(article)
        return Reply(token, "answer", _answer_text(article), 1.0, _cite(article))
    if handover:
        return Reply(token, "handover", _("I am passing you to a colleague."), 0.0)
    decision = engine.decide(workspace, question, lang)
    if decision.action == "human":
        return Reply(token, "handover", _("I am passing you to a colleague."), 0.0)
    if decision.action == "answer":
        record_view(decision.hit.article)
        return Reply(
            token,
            "answer",
            _answer_text(decision.hit.article),
            round(decision.confidence, 3),
            _cite(decision.hit.article),
        )
    if conversation.low_confidence_count >= 1:
        conversation.low_confidence_count += 1
        return Reply(
            token,
            "handover",
            _("I could not find an answer, so I am passing you to a colleague."),
            round(decision.confidence, 3),
        )
    conversation.low_confidence_count += 1
    choices = [_cite(h.article) for h in decision.candidates]
    text = (
        _("I am not sure I understood. Is it one of these?")
        if choices
        else _("I am not sure I understood. Could you say it in other words?")
    )
    return Reply(token, "clarify", text, round(decision.confidence, 3), None, choices)


def deflection(workspace, since=None, until=None) -> dict:
    """Conversations started in [since, until) with at least one question: deflected (ended with an
    answer, never handed over), handed over, and the rate; for the service dashboard. One query."""
    with scope(workspace=workspace):
        conversations = BotConversation.objects.filter(turn_count__gt=0)
        if since is not None:
            conversations = conversations.filter(created_at__gte=since)
        if until is not None:
            conversations = conversations.filter(created_at__lt=until)
        row = conversations.order_by().aggregate(
            total=Count("id"),
            deflected=Count(
                "id", filter=Q(outcome=BotConversation.Outcome.ANSWERED, handed_over_at__isnull=True)
            ),
            handed_over=Count(
                "id", filter=Q(handed_over_at__isnull=False) | Q(outcome=BotConversation.Outcome.HANDED_OVER)
            ),
        )
    total, deflected = row["total"], row["deflected"]
    return {
        "conversations": total,
        "deflected": deflected,
        "handed_over": row["handed_over"],
        "rate": deflected / total if total else None,
    }
