"""REST endpoints for the knowledge base: articles (CRUD, search, versions) and categories."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.core.api import InputSchema, actor_of, keyset, patch_schema
from kehu.core.errors import NotFound
from kehu.workspaces.access import access_record, require, visible

from . import services
from .models import Article, ArticleVersion, Category
from .queries import articles_for
from .search import search_articles

router = Router(tags=["knowledge"])


class ArticleOut(Schema):
    id: int
    title: str
    summary: str
    body: str
    body_format: str
    language: str
    group_id: int | None = Field(..., description="Translation group: articles with the same group_id")
    category_id: int | None
    keywords: str
    visibility: str = Field(..., description="public | internal")
    status: str = Field(..., description="draft | published")
    published_at: datetime | None
    version: int
    view_count: int
    helpful_yes: int
    helpful_no: int
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class ArticleIn(InputSchema):
    title: str = Field(..., max_length=200)
    summary: str = Field("", max_length=500, description="The bot answers with it")
    body: str = Field(
        "", description="Plain text with simple marks, or HTML (sanitised) with body_format=html"
    )
    body_format: str = Field("text", description="text | html")
    language: str = Field("zh-hans", description="zh-hans | en")
    category_id: int | None = None
    keywords: str = Field("", max_length=300)
    visibility: str = Field("public", description="public | internal")
    status: str = Field("draft", description="draft | published")
    translation_of: int | None = Field(None, description="An article this one translates (joins its group)")
    owner_id: int | None = Field(None, description="Defaults to the caller")


ArticlePatch = patch_schema(ArticleIn, "ArticlePatch")


class ArticleFilters(Schema):
    q: str = Field("", description="Title or keywords contain")
    language: str | None = None
    status: str | None = None
    visibility: str | None = None
    category_id: int | None = None


class HitOut(Schema):
    id: int
    title: str
    language: str
    visibility: str
    score: float
    confidence: float = Field(..., description="0–1: how likely the article answers the text")


class VersionOut(Schema):
    number: int
    title: str
    summary: str
    body: str
    body_format: str
    keywords: str
    created_at: datetime
    created_by_id: int | None


class CategoryOut(Schema):
    id: int
    name: str
    name_en: str
    description: str
    position: int


class CategoryIn(InputSchema):
    name: str = Field(..., max_length=100)
    name_en: str = Field("", max_length=100)
    description: str = Field("", max_length=300)
    position: int = 0


@router.get("/kb/articles", response=list[ArticleOut], summary="Articles the caller may see")
@keyset(orderings=("created_at", "updated_at", "title"), default="-updated_at")
def list_articles(request: HttpRequest, filters: Query[ArticleFilters]):
    values = {k: v for k, v in filters.dict().items() if k != "q" and v is not None}
    return articles_for(actor_of(request), filters.q).filter(**values)


@router.get("/kb/articles/search", response=list[HitOut], summary="Ranked full-text search (zh and en)")
def search(
    request: HttpRequest, q: str = "", language: str | None = None, public_only: bool = False, limit: int = 10
):
    """BM25 over Chinese words and bigrams and English stems; published articles the caller may see."""
    actor = actor_of(request)
    require(actor, "view", Article.object_type)
    hits = search_articles(
        actor.workspace, q[:1000], public_only=public_only, language=language, limit=max(1, min(limit, 50))
    )
    allowed = set(
        visible(actor, Article.objects.filter(pk__in=[h.article.pk for h in hits])).values_list(
            "pk", flat=True
        )
    )
    return [
        {
            "id": h.article.pk,
            "title": h.article.title,
            "language": h.article.language,
            "visibility": h.article.visibility,
            "score": round(h.score, 4),
            "confidence": h.confidence,
        }
        for h in hits
        if h.article.pk in allowed
    ]


@router.post("/kb/articles", response={201: ArticleOut}, summary="Create an article")
def create_article(request: HttpRequest, payload: ArticleIn):
    values = payload.dict()
    if values.get("translation_of") is None:
        values.pop("translation_of")
    if values.get("owner_id") is None:
        values.pop("owner_id")
    return Status(201, services.create_article(actor_of(request), **values))


@router.get("/kb/articles/{article_id}", response=ArticleOut, summary="One article")
def get_article(request: HttpRequest, article_id: int):
    return access_record(actor_of(request), Article.objects.all(), article_id)


@router.patch("/kb/articles/{article_id}", response=ArticleOut, summary="Change an article (adds a version)")
def update_article(request: HttpRequest, article_id: int, payload: ArticlePatch):
    actor = actor_of(request)
    article = access_record(actor, Article.objects.all(), article_id, "change")
    return services.update_article(actor, article, **payload.dict(exclude_unset=True))


@router.delete("/kb/articles/{article_id}", response={204: None}, summary="Delete an article")
def delete_article(request: HttpRequest, article_id: int):
    actor = actor_of(request)
    services.delete_article(actor, access_record(actor, Article.objects.all(), article_id, "delete"))
    return Status(204, None)


@router.get("/kb/articles/{article_id}/versions", response=list[VersionOut], summary="An article's versions")
def versions(request: HttpRequest, article_id: int):
    article = access_record(actor_of(request), Article.objects.all(), article_id)
    return list(ArticleVersion.objects.filter(article=article).order_by("-number")[:200])


@router.post(
    "/kb/articles/{article_id}/versions/{number}/restore",
    response=ArticleOut,
    summary="Make an old version current (as a new version)",
)
def restore(request: HttpRequest, article_id: int, number: int):
    actor = actor_of(request)
    article = access_record(actor, Article.objects.all(), article_id, "change")
    return services.restore_version(actor, article, number)


@router.get("/kb/categories", response=list[CategoryOut], summary="Knowledge-base categories")
def list_categories(request: HttpRequest):
    require(actor_of(request), "view", Article.object_type)
    return list(Category.objects.all()[:500])


@router.post("/kb/categories", response={201: CategoryOut}, summary="Create a category")
def create_category(request: HttpRequest, payload: CategoryIn):
    return Status(201, services.create_category(actor_of(request), **payload.dict()))


@router.delete("/kb/categories/{category_id}", response={204: None}, summary="Delete a category")
def delete_category(request: HttpRequest, category_id: int):
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound()
    services.delete_category(actor_of(request), category)
    return Status(204, None)
