"""The bot's decision for one question, from the knowledge-base search: answer, clarify or hand over.

Pure apart from the search call, so the evaluation (``benchmarks/bot.py``) and the service use the
same rule. The threshold was tuned on half of the evaluation questions (docs/performance.md).
"""

import re
from dataclasses import dataclass, field

from django.conf import settings

from kehu.knowledge.search import Hit, language_of, search_articles

# Asking for a person: handed over at once, whatever the search says.
HUMAN_REQUEST = re.compile(
    r"人工|真人|转接|客服人员|人类客服|"
    r"\b(human|agent|real person|representative|operator|talk to (a|some) ?one|speak to (a|some) ?one|"
    r"speak with (a|some) ?one)\b",
    re.IGNORECASE,
)


def threshold() -> float:
    return float(getattr(settings, "BOT_ANSWER_THRESHOLD", 0.92))  # benchmarks/bot.py chose it


def clarify_floor() -> float:
    """Below this even the best article is not worth offering as a choice."""
    return float(getattr(settings, "BOT_CLARIFY_FLOOR", 0.20))


@dataclass
class Decision:
    action: str  # "answer" | "low" (clarify or hand over: the conversation decides) | "human"
    confidence: float = 0.0
    hit: Hit | None = None
    candidates: list[Hit] = field(default_factory=list)
    language: str = "en"


def wants_human(question: str) -> bool:
    return bool(HUMAN_REQUEST.search(question or ""))


def retrieve(workspace, question: str, language: str | None = None) -> tuple[list[Hit], str]:
    """The best public articles for the question, in its language (others if none matches)."""
    language = language or language_of(question)
    hits = search_articles(workspace, question, public_only=True, language=language, limit=3)
    if not hits:
        hits = search_articles(workspace, question, public_only=True, limit=3)
    return hits, language


def decide_from_hits(hits: list[Hit], language: str, *, answer_at: float, offer_at: float) -> Decision:
    if not hits:
        return Decision("low", 0.0, None, [], language)
    top = hits[0]
    if top.confidence >= answer_at:
        return Decision("answer", top.confidence, top, [], language)
    candidates = [h for h in hits if h.confidence >= offer_at * (0.5 if h is not top else 1.0)]
    return Decision(
        "low", top.confidence, None, candidates[:3] if top.confidence >= offer_at else [], language
    )


def decide(workspace, question: str, language: str | None = None) -> Decision:
    if wants_human(question):
        return Decision("human", language=language or language_of(question))
    hits, language = retrieve(workspace, question, language)
    return decide_from_hits(hits, language, answer_at=threshold(), offer_at=clarify_floor())
