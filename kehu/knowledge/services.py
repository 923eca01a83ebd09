"""Knowledge-base writes: the only write path for articles, categories, versions and feedback.

Every save of an article keeps a version (``ArticleVersion``) and re-indexes it for search; writes
are audited and checked against the actor's permissions on "knowledge.article".
"""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import create_record, delete_record, update_record
from kehu.core.errors import FieldError, NotFound, ValidationFailed
from kehu.workspaces.access import Actor, require

from .models import LANGUAGES, Article, ArticleFeedback, ArticleVersion, Category
from .rendering import sanitise_html
from .search import index_article

OBJECT_TYPE = Article.object_type
CONTENT_FIELDS = ("title", "summary", "body", "body_format", "keywords")
EDITABLE = (*CONTENT_FIELDS, "language", "category_id", "visibility", "status", "owner_id", "translation_of")
MAX_BODY = 100_000


def _clean(actor: Actor, values: dict[str, Any], instance: Article | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    unknown = sorted(set(values) - set(EDITABLE))
    errors += [FieldError(name, _("Unknown field."), "extra_forbidden") for name in unknown]
    cleaned: dict[str, Any] = {}
    for name in ("title", "summary", "keywords"):
        if name in values:
            cleaned[name] = " ".join(str(values[name] or "").split())
    if "body" in values:
        cleaned["body"] = str(values["body"] or "").replace("\r\n", "\n")
        if len(cleaned["body"]) > MAX_BODY:
            errors.append(FieldError("body", _("At most %d characters.") % MAX_BODY, "too_long"))
    title = cleaned.get("title", instance.title if instance else "")
    if not title:
        errors.append(FieldError("title", _("This field is required."), "required"))
    elif len(title) > 200:
        errors.append(FieldError("title", _("At most %d characters.") % 200, "too_long"))
    if len(cleaned.get("summary", "")) > 500:
        errors.append(FieldError("summary", _("At most %d characters.") % 500, "too_long"))
    if len(cleaned.get("keywords", "")) > 300:
        errors.append(FieldError("keywords", _("At most %d characters.") % 300, "too_long"))
    choices = {
        "body_format": Article.Format.values,
        "language": [code for code, _label in LANGUAGES],
        "visibility": Article.Visibility.values,
        "status": Article.Status.values,
    }
    for name, allowed in choices.items():
        if name in values:
            if values[name] not in allowed:
                errors.append(
                    FieldError(name, _("Choose one of: %s.") % ", ".join(allowed), "invalid_choice")
                )
            else:
                cleaned[name] = values[name]
    if (
        cleaned.get("body_format", instance.body_format if instance else "text") == "html"
        and "body" in cleaned
    ):
        cleaned["body"] = sanitise_html(cleaned["body"])  # stored clean, rendered clean again
    if "category_id" in values:
        category_id = values["category_id"]
        if category_id in (None, ""):
            cleaned["category_id"] = None
        elif not Category.objects.filter(pk=category_id).exists():  # scoped: this workspace only
            errors.append(FieldError("category_id", _("No such category."), "not_found"))
        else:
            cleaned["category_id"] = int(category_id)
    if "owner_id" in values and values["owner_id"] is not None:
        from kehu.workspaces.models import Membership

        if not Membership.objects.filter(user_id=values["owner_id"], workspace=actor.workspace).exists():
            errors.append(FieldError("owner_id", _("Not a member of this workspace."), "not_found"))
        else:
            cleaned["owner_id"] = values["owner_id"]
    source = values.get("translation_of")
    if source not in (None, ""):
        original = Article.objects.filter(pk=source).first()
        if original is None:
            errors.append(FieldError("translation_of", _("No such article."), "not_found"))
        else:
            cleaned["group_id"] = original.group_id or original.pk
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _keep_version(actor: Actor, article: Article) -> None:
    ArticleVersion.objects.create(
        workspace=article.workspace,
        article=article,
        number=article.version,
        created_by=actor.user,
        updated_by=actor.user,
        **{name: getattr(article, name) for name in CONTENT_FIELDS},
    )


@transaction.atomic
def create_article(actor: Actor, **values: Any) -> Article:
    """A new article (version 1); published ones are indexed for search at once."""
    require(actor, "create", OBJECT_TYPE)
    cleaned = _clean(actor, values, None)
    cleaned.setdefault("owner_id", actor.user.pk)
    article = Article(**cleaned)
    if article.status == Article.Status.PUBLISHED:
        article.published_at = timezone.now()
    create_record(actor, article)
    if not article.group_id:
        article.group_id = article.pk
        Article.objects.filter(pk=article.pk).update(group_id=article.pk)
    _keep_version(actor, article)
    index_article(article)
    return article


@transaction.atomic
def update_article(actor: Actor, article: Article, **values: Any) -> Article:
    """Change an article; a content change adds a version. Re-indexed on every save."""
    require(actor, "change", OBJECT_TYPE)
    cleaned = _clean(actor, values, article)
    content_changed = any(
        name in cleaned and cleaned[name] != getattr(article, name) for name in CONTENT_FIELDS
    )
    if cleaned.get("status") == Article.Status.PUBLISHED and article.status != Article.Status.PUBLISHED:
        cleaned["published_at"] = timezone.now()
    if content_changed:
        cleaned["version"] = article.version + 1
    changes = update_record(actor, article, cleaned)
    if content_changed:
        _keep_version(actor, article)
    if changes:
        index_article(article)
    return article


def publish(actor: Actor, article: Article) -> Article:
    return update_article(actor, article, status=Article.Status.PUBLISHED)


@transaction.atomic
def restore_version(actor: Actor, article: Article, number: int) -> Article:
    """Make an old version's content current again (as a new version: history is never rewritten)."""
    version = ArticleVersion.objects.filter(article=article, number=number).first()
    if version is None:
        raise NotFound(_("This article has no version %d.") % number)
    return update_article(actor, article, **{name: getattr(version, name) for name in CONTENT_FIELDS})


@transaction.atomic
def delete_article(actor: Actor, article: Article) -> None:
    require(actor, "delete", OBJECT_TYPE)
    if article.group_id == article.pk:  # its translations form the group on without it
        rest = Article.objects.filter(group_id=article.pk).exclude(pk=article.pk).order_by("pk")
        first = rest.first()
        if first is not None:
            rest.update(group_id=first.pk)
    delete_record(actor, article)


def translations(article: Article) -> list[Article]:
    """The article's other-language versions (same group)."""
    if not article.group_id:
        return []
    return list(Article.objects.filter(group_id=article.group_id).exclude(pk=article.pk).order_by("language"))


def record_view(article: Article) -> None:
    """Count one view (public help centre / bot citation); no audit entry, one UPDATE."""
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def submit_feedback(article: Article, *, helpful: bool, comment: str = "") -> ArticleFeedback:
    """A visitor's "was this helpful" answer (the caller rate-limits it per address)."""
    comment = " ".join(str(comment or "").split())[:500]
    feedback = ArticleFeedback.objects.create(
        workspace_id=article.workspace_id, article=article, helpful=bool(helpful), comment=comment
    )
    counter = "helpful_yes" if helpful else "helpful_no"
    Article.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    return feedback


# --- categories ------------------------------------------------------------------------------------


def _clean_category(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {
        k: " ".join(str(values.get(k) or "").split())
        for k in ("name", "name_en", "description")
        if k in values
    }
    if "position" in values:
        cleaned["position"] = max(0, int(values.get("position") or 0))
    errors = []
    if "name" in cleaned and not cleaned["name"]:
        errors.append(FieldError("name", _("This field is required."), "required"))
    for name, limit in (("name", 100), ("name_en", 100), ("description", 300)):
        if len(cleaned.get(name, "")) > limit:
            errors.append(FieldError(name, _("At most %d characters.") % limit, "too_long"))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_category(actor: Actor, **values: Any) -> Category:
    require(actor, "change", OBJECT_TYPE)
    values.setdefault("name", "")
    return create_record(actor, Category(**_clean_category(values)))


@transaction.atomic
def update_category(actor: Actor, category: Category, **values: Any) -> Category:
    require(actor, "change", OBJECT_TYPE)
    update_record(actor, category, _clean_category(values))
    return category


@transaction.atomic
def delete_category(actor: Actor, category: Category) -> None:
    require(actor, "delete", OBJECT_TYPE)
    delete_record(actor, category)
