"""Scoped reads of articles for views, the API and exports."""

from django.db.models import Q, QuerySet

from kehu.workspaces.access import Actor, visible

from .models import Article


def articles_for(actor: Actor, q: str = "") -> QuerySet[Article]:
    """The articles the actor may see; ``q`` = title or keywords contain it."""
    records = visible(actor, Article.objects.select_related("category", "owner"))
    q = " ".join((q or "").split())
    if q:
        records = records.filter(Q(title__icontains=q) | Q(keywords__icontains=q))
    return records


def public_articles(workspace_articles: QuerySet[Article]) -> QuerySet[Article]:
    return workspace_articles.filter(status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC)
