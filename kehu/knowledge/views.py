"""Knowledge-base pages for members (list, article page with versions, editor, categories) and the
public help centre at /help/<workspace slug>/ (no login; published public articles only)."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_scopes import scope, scopes_disabled

from kehu.core.errors import DomainError
from kehu.core.ratelimit import over_limit
from kehu.listviews.web import list_state, page, toolbar_context
from kehu.workspaces.access import access_record
from kehu.workspaces.models import Workspace
from kehu.workspaces.views import member_required, show_domain_error

from . import services
from .forms import ArticleForm, CategoryForm, article_initial
from .hooks import help_language, widget_context
from .models import LANGUAGES, Article, ArticleVersion, Category
from .queries import articles_for
from .rendering import excerpt, render_body
from .search import search_articles

# --- member pages ----------------------------------------------------------------------------------


@member_required
def article_list(request):
    query = request.GET.get("q", "").strip()[:200]
    records = articles_for(request.actor, query)
    state = list_state(request, Article.object_type)
    rows, next_cursor = page(state, records, request.GET.get("cursor"))
    context = {
        "list_name": "article",
        "rows": rows,
        "query": query,
        "next_cursor": next_cursor,
        "can_create": request.actor.can("create", Article.object_type),
        **toolbar_context(request, state, next_cursor=next_cursor),
    }
    return render(request, "listviews/_rows.html" if request.htmx else "knowledge/article_list.html", context)


@member_required
def article_detail(request, pk: int):
    actor = request.actor
    article = access_record(actor, Article.objects.select_related("category", "owner"), pk)
    context = {
        "record": article,
        "body": render_body(article.body, article.body_format),
        "versions": list(
            article.versions.only("number", "created_at", "created_by", "title").select_related("created_by")[
                :50
            ]
        ),
        "translations": services.translations(article),
        "can_change": actor.can("change", Article.object_type),
        "can_delete": actor.can("delete", Article.object_type),
        "public_url": reverse("knowledge:help-article", args=[request.workspace.slug, article.pk])
        if article.is_public
        else "",
    }
    return render(request, "knowledge/article_detail.html", context)


def _save(request, form: ArticleForm, article: Article | None):
    try:
        values = form.service_values()
        if article is None:
            article = services.create_article(request.actor, **values)
            messages.success(request, _("Article created."))
        else:
            services.update_article(request.actor, article, **values)
            messages.success(request, _("Article saved."))
    except DomainError as error:
        show_domain_error(request, error, form)
        return None
    return redirect("knowledge:detail", article.pk)


@member_required
def article_create(request):
    if not request.actor.can("create", Article.object_type):
        raise Http404
    initial = {
        "language": "en" if translation.get_language() == "en" else "zh-hans",
        "visibility": "public",
        "status": "draft",
        "body_format": "text",
    }
    source = request.GET.get("translation_of", "")
    if source.isdigit():
        initial["translation_of"] = int(source)
        initial["language"] = "zh-hans" if initial["language"] == "en" else "en"
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and (response := _save(request, form, None)):
        return response
    return render(request, "knowledge/article_form.html", {"form": form, "title": _("New article")})


@member_required
def article_edit(request, pk: int):
    article = access_record(request.actor, Article.objects.all(), pk, "change")
    form = ArticleForm(request.POST or None, initial=article_initial(article), record=article)
    if request.method == "POST" and form.is_valid() and (response := _save(request, form, article)):
        return response
    return render(
        request,
        "knowledge/article_form.html",
        {"form": form, "record": article, "title": _("Edit %(title)s") % {"title": article.title}},
    )


@member_required
@require_POST
def article_delete(request, pk: int):
    article = access_record(request.actor, Article.objects.all(), pk, "delete")
    try:
        services.delete_article(request.actor, article)
    except DomainError as error:
        show_domain_error(request, error)
        return redirect("knowledge:detail", pk)
    messages.success(request, _("Article deleted."))
    return redirect("knowledge:list")


@member_required
def article_version(request, pk: int, number: int):
    article = access_record(request.actor, Article.objects.all(), pk)
    version = (
        ArticleVersion.objects.filter(article=article, number=number).select_related("created_by").first()
    )
    if version is None:
        raise Http404
    context = {
        "record": article,
        "version": version,
        "body": render_body(version.body, version.body_format),
        "can_change": request.actor.can("change", Article.object_type),
    }
    return render(request, "knowledge/article_version.html", context)


@member_required
@require_POST
def article_restore(request, pk: int, number: int):
    article = access_record(request.actor, Article.objects.all(), pk, "change")
    try:
        services.restore_version(request.actor, article, number)
        messages.success(request, _("Version %(number)s restored.") % {"number": number})
    except DomainError as error:
        show_domain_error(request, error)
    return redirect("knowledge:detail", pk)


@member_required
def categories(request, pk: int | None = None):
    actor = request.actor
    can_change = actor.can("change", Article.object_type)
    category = Category.objects.filter(pk=pk).first() if pk else None
    if pk and category is None:
        raise Http404
    form = CategoryForm(
        request.POST or None,
        initial={k: getattr(category, k) for k in ("name", "name_en", "description", "position")}
        if category
        else None,
    )
    if request.method == "POST":
        if not can_change:
            raise Http404
        if "delete" in request.POST and category is not None:
            try:
                services.delete_category(actor, category)
            except DomainError as error:
                show_domain_error(request, error)
            return redirect("knowledge:categories")
        if form.is_valid():
            try:
                if category is None:
                    services.create_category(actor, **form.cleaned_data)
                else:
                    services.update_category(actor, category, **form.cleaned_data)
                messages.success(request, _("Category saved."))
                return redirect("knowledge:categories")
            except DomainError as error:
                show_domain_error(request, error, form)
    rows = Category.objects.annotate(n=Count("articles"))
    return render(
        request,
        "knowledge/categories.html",
        {"rows": rows, "form": form, "category": category, "can_change": can_change},
    )


# --- the public help centre ------------------------------------------------------------------------


def _workspace(slug: str) -> Workspace:
    with scopes_disabled():
        workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise Http404
    return workspace


def _public(workspace):
    return Article.objects.filter(
        workspace=workspace, status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC
    )


def _help_context(request, workspace, language: str, **extra) -> dict:
    return {
        **widget_context(request, workspace),
        "language": language,
        "languages": LANGUAGES,
        "query": "",
        **extra,
    }


def help_home(request, slug: str):
    workspace = _workspace(slug)
    language = help_language(request)
    with scope(workspace=workspace):
        public = _public(workspace).filter(language=language)
        cats = list(
            Category.objects.annotate(n=Count("articles", filter=Q(articles__in=public))).filter(n__gt=0)
        )
        by_views = list(public.only("pk", "title", "category_id").order_by("-view_count", "title"))
        by_category: dict[int | None, list] = {}
        for article in by_views:
            by_category.setdefault(article.category_id, []).append(article)
        sections = [(c, c.label(language), by_category.get(c.pk, [])[:8]) for c in cats]
        uncategorised = by_category.get(None, [])[:8]
        popular = by_views[:5]  # the same ordering: no second query
    return render(
        request,
        "knowledge/help_home.html",
        _help_context(
            request, workspace, language, sections=sections, uncategorised=uncategorised, popular=popular
        ),
    )


def help_category(request, slug: str, pk: int):
    workspace = _workspace(slug)
    language = help_language(request)
    with scope(workspace=workspace):
        category = Category.objects.filter(pk=pk).first()
        if category is None:
            raise Http404
        articles = list(
            _public(workspace).filter(category=category, language=language).order_by("title")[:200]
        )
    return render(
        request,
        "knowledge/help_category.html",
        _help_context(
            request,
            workspace,
            language,
            category=category,
            category_label=category.label(language),
            articles=articles,
        ),
    )


def help_article(request, slug: str, pk: int):
    workspace = _workspace(slug)
    with scope(workspace=workspace):
        article = _public(workspace).select_related("category").filter(pk=pk).first()
        if article is None:
            raise Http404
        services.record_view(article)
        others = [a for a in services.translations(article) if a.is_public]
        related = [
            h.article
            for h in search_articles(
                workspace,
                article.title,
                public_only=True,
                language=article.language,
                limit=4,
                exclude_ids=(article.pk,),
            )
        ][:3]
    return render(
        request,
        "knowledge/help_article.html",
        _help_context(
            request,
            workspace,
            article.language,
            article=article,
            body=render_body(article.body, article.body_format),
            category_label=article.category.label(article.language) if article.category else "",
            translations=others,
            related=related,
            voted=request.GET.get("voted") == "1",
        ),
    )


def _feedback_limited(request, workspace) -> bool:
    return over_limit(
        request,
        f"kbfeedback:{workspace.pk}",
        getattr(settings, "KB_FEEDBACK_RATE_LIMIT", 20),
        getattr(settings, "KB_FEEDBACK_RATE_WINDOW", 600),
    )


@require_POST
def help_feedback(request, slug: str, pk: int):
    workspace = _workspace(slug)
    with scope(workspace=workspace):
        article = _public(workspace).filter(pk=pk).first()
        if article is None:
            raise Http404
        if _feedback_limited(request, workspace):
            return HttpResponse(
                _("Too many answers from your address. Try again later."),
                status=429,
                content_type="text/plain; charset=utf-8",
            )
        helpful = request.POST.get("helpful")
        if helpful not in {"yes", "no"}:
            return HttpResponse(status=400)
        services.submit_feedback(article, helpful=helpful == "yes", comment=request.POST.get("comment", ""))
    if request.htmx:
        return render(request, "knowledge/_feedback_thanks.html", {})
    return redirect(reverse("knowledge:help-article", args=[slug, pk]) + "?voted=1")


def help_search(request, slug: str):
    workspace = _workspace(slug)
    language = help_language(request)
    query = request.GET.get("q", "").strip()[:200]
    results = []
    if query:
        hits = search_articles(workspace, query, public_only=True, language=None, limit=10)
        results = [
            (h.article, excerpt(h.article.summary or h.article.body, h.article.body_format, 200))
            for h in hits
        ]
    return render(
        request,
        "knowledge/help_search.html",
        _help_context(request, workspace, language, query=query, results=results),
    )
