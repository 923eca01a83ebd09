"""``POST /api/v1/bot/ask``: the service bot for integrations (an API key of the workspace)."""

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kehu.core.api import InputSchema, actor_of

from . import services
from .models import BotConversation

router = Router(tags=["bot"])


class AskIn(InputSchema):
    question: str = Field("", max_length=1000)
    conversation_id: str | None = Field(None, description="From the previous answer; leave out to start one")
    language: str | None = Field(None, description="zh-hans | en; detected from the question when left out")
    email: str = Field(
        "",
        max_length=254,
        description="The customer's email: a handover ticket is matched to the contact by it",
    )
    name: str = Field("", max_length=100)
    choice: int | None = Field(None, description="The id of an article the bot offered (action clarify)")
    handover: bool = Field(False, description="The customer asks for a person")


class CitedOut(Schema):
    id: int
    title: str
    url: str


class AskOut(Schema):
    conversation_id: str
    action: str = Field(..., description="answer | clarify | handover")
    answer: str
    confidence: float
    article: CitedOut | None = Field(None, description="The cited article (action answer)")
    choices: list[CitedOut] = Field(default_factory=list, description="Candidate articles (action clarify)")
    ticket_number: int | None = Field(None, description="The ticket opened (action handover)")


@router.post("/bot/ask", response=AskOut, summary="Ask the service bot")
def ask(request: HttpRequest, payload: AskIn):
    """Answers from the published public articles, asks to clarify when unsure, hands over (opens a
    ticket with the transcript) when asked for a person or unsure twice."""
    actor = actor_of(request)
    reply = services.ask(
        actor.workspace,
        payload.question,
        conversation_id=payload.conversation_id,
        language=payload.language,
        channel=BotConversation.Channel.API,
        email=payload.email,
        name=payload.name,
        choice=payload.choice,
        handover=payload.handover,
    )
    return {
        "conversation_id": reply.conversation_id,
        "action": reply.action,
        "answer": reply.answer,
        "confidence": reply.confidence,
        "article": reply.article.__dict__ if reply.article else None,
        "choices": [c.__dict__ for c in reply.choices],
        "ticket_number": reply.ticket_number,
    }
