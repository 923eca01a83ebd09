"""Knowledge-base search: BM25 over an index table kept current on every save.

Why this method (figures in docs/performance.md, "Service bot"): the index rows (term → article,
weighted tf) live in the database, so every web/API/worker process sees a save at once with no
cache to invalidate, and a query is two indexed reads on SQLite and PostgreSQL alike — the
(workspace, term) rows of the question's few terms, and the collection's size for BM25's IDF.
With 1,000 articles a question reads a few thousand rows at most; ranking them in Python takes
a millisecond or two.

Besides BM25's score each hit carries a **confidence** in [0, 1]: a logistic function of how much of
the question's information (its terms' IDF mass) the article covers, how close the runner-up
comes, how many words matched and the score itself. The bot compares it with its threshold.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Avg, Count
from django_scopes import scope

from .models import Article, ArticleTerm
from .text import is_chinese, terms, weighted_terms

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
KEYWORDS_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.5
BIGRAM_WEIGHT = 0.5  # a Chinese bigram counts half a word (each word also yields its bigrams)
MAX_QUERY_TERMS = 40


@dataclass
class Hit:
    article: Article
    score: float
    confidence: float
    matched: list[str] = field(default_factory=list)
    features: dict = field(default_factory=dict)


def language_of(text: str) -> str:
    return "zh-hans" if is_chinese(text) else "en"


def document_terms(article: Article) -> Counter:
    return weighted_terms(
        (article.title, TITLE_WEIGHT),
        (article.keywords, KEYWORDS_WEIGHT),
        (article.summary, SUMMARY_WEIGHT),
        (_plain_body(article), 1.0),
    )


def _plain_body(article: Article) -> str:
    if article.body_format == Article.Format.HTML:
        from .rendering import html_to_text

        return html_to_text(article.body)
    return article.body


def index_article(article: Article) -> None:
    """Rewrite the article's index rows (none unless published). Called by the services on save."""
    with transaction.atomic():
        ArticleTerm.objects.filter(workspace_id=article.workspace_id, article=article).delete()
        if article.status != Article.Status.PUBLISHED:
            length = 0
        else:
            counts = document_terms(article)
            rows = [
                ArticleTerm(workspace_id=article.workspace_id, article=article, term=term, tf=weight)
                for term, weight in counts.items()
            ]
            ArticleTerm.objects.bulk_create(rows, batch_size=500)
            length = round(sum(counts.values()))
        Article.objects.filter(pk=article.pk).update(term_count=length)
        article.term_count = length


def _query_weights(text: str) -> dict[str, float]:
    counts: Counter = Counter()
    for term in terms(text[:1000]):
        counts[term] += BIGRAM_WEIGHT if term.startswith("~") else 1.0
    return dict(counts.most_common(MAX_QUERY_TERMS))


def search_articles(
    workspace,
    text: str,
    *,
    public_only: bool = False,
    language: str | None = None,
    limit: int = 5,
    exclude_ids: tuple[int, ...] = (),
) -> list[Hit]:
    """Published articles ranked for ``text`` (best first, at most ``limit``), each with its score
    and confidence. ``public_only`` leaves internal articles out (help centre, bot); ``language``
    ("zh-hans"/"en") keeps one language."""
    query = _query_weights(text or "")
    if not query:
        return []
    with scope(workspace=workspace):
        articles = Article.objects.filter(status=Article.Status.PUBLISHED)
        rows = ArticleTerm.objects.filter(term__in=list(query), article__status=Article.Status.PUBLISHED)
        if public_only:
            articles = articles.filter(visibility=Article.Visibility.PUBLIC)
            rows = rows.filter(article__visibility=Article.Visibility.PUBLIC)
        if language:
            articles = articles.filter(language=language)
            rows = rows.filter(article__language=language)
        if exclude_ids:
            rows = rows.exclude(article_id__in=exclude_ids)
        stats = articles.aggregate(n=Count("id"), avgdl=Avg("term_count"))
        total = stats["n"] or 0
        if not total:
            return []
        avgdl = float(stats["avgdl"] or 1.0) or 1.0
        postings: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
        for article_id, term, tf, length in rows.values_list(
            "article_id", "term", "tf", "article__term_count"
        ):
            postings[term].append((article_id, tf, length))
        ranked = rank(query, postings, total, avgdl)[:limit]
        by_id = Article.objects.select_related("category").in_bulk([r[0] for r in ranked])
    return [Hit(by_id[r[0]], *r[1:]) for r in ranked if r[0] in by_id]


def idf(df: int, total: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def rank(
    query: dict[str, float], postings: dict[str, list[tuple[int, float, int]]], total: int, avgdl: float
) -> list[tuple[int, float, float, list[str]]]:
    """BM25 over the postings; (article id, score, confidence, matched terms), best first.

    Confidence = the share of the question's IDF mass the article matches (a term the knowledge
    base never uses has the highest IDF, so an out-of-scope question covers little of itself),
    times a margin factor: 1 when the best article clearly leads, lower as the runner-up nears it.
    """
    scores: dict[int, float] = defaultdict(float)
    covered: dict[int, float] = defaultdict(float)
    matched: dict[int, list[str]] = defaultdict(list)
    mass = 0.0
    for term, qweight in query.items():
        plist = postings.get(term, ())
        weight = idf(len(plist), total)
        mass += weight * qweight  # the best possible score is mass × (K1 + 1)
        for article_id, tf, length in plist:
            norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avgdl))
            scores[article_id] += weight * qweight * norm
            covered[article_id] += weight * qweight
            matched[article_id].append(term)
    if not scores or mass <= 0:
        return []
    order = sorted(scores, key=lambda pk: (-scores[pk], pk))
    best, second = scores[order[0]], scores[order[1]] if len(order) > 1 else 0.0
    results = []
    for position, pk in enumerate(order):
        features = {
            "coverage": covered[pk] / mass,
            "ratio": (second / best if position == 0 else scores[pk] / best) if best > 0 else 1.0,
            "words": sum(1 for t in matched[pk] if not t.startswith("~")),
            "score": scores[pk],
            "norm": scores[pk] / (mass * (K1 + 1)),  # scale-free: the share of the best possible score
            "first": position == 0,
        }
        results.append((pk, scores[pk], round(confidence(features), 4), matched[pk], features))
    return results


# Logistic weights of (intercept, coverage, runner-up ratio, matched words ≤ 5, log(1 + BM25 score)),
# fitted by ``benchmarks/bot.py --fit`` on the tuning half of the evaluation questions only (a
# scale-free score / best-possible-score in place of the last feature generalised worse to the test
# half: 10.4 % wrong against 6.5 %).
CONFIDENCE_WEIGHTS = (-3.80, 0.29, -1.38, 0.83, 1.67)


def features_vector(f: dict) -> tuple[float, float, float, float]:
    return (f["coverage"], f["ratio"], float(min(f["words"], 5)), math.log1p(f["score"]))


def confidence(f: dict) -> float:
    """The estimated probability that this article answers the question (0 for a runner-up whose
    score is under half the best's)."""
    b0, *weights = CONFIDENCE_WEIGHTS
    z = b0 + sum(w * x for w, x in zip(weights, features_vector(f), strict=True))
    p = 1.0 / (1.0 + math.exp(-z))
    return p if f["first"] else p * f["ratio"]


def suggest_for_ticket(workspace, subject: str, description: str, limit: int = 3) -> list[Hit]:
    """Articles an agent may send for a ticket: its subject counts twice, internal ones included."""
    text = f"{subject} {subject} {(description or '')[:800]}"
    return search_articles(workspace, text, limit=limit)


def rebuild_index(workspace) -> int:
    """Re-index every article of the workspace (after changing the tokenizer); the number indexed."""
    with scope(workspace=workspace):
        count = 0
        for article in Article.objects.all().iterator(chunk_size=200):
            index_article(article)
            count += 1
    return count
