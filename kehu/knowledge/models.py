"""Knowledge base: articles (zh/en, translations grouped), categories, versions, feedback and the
search index (term → article rows kept current on every save).

An article is an ``OwnedRecord`` (owner = its author) of the "service" domain, so the role matrix
decides who sees and edits articles; the public help centre and the bot read only published,
public ones.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from kehu.core.models import OwnedRecord, WorkspaceModel

LANGUAGES = (("zh-hans", "中文"), ("en", "English"))


class Category(WorkspaceModel):
    """A help-centre section (订单, Shipping …); one list shared by both languages."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("knowledge category")
        verbose_name_plural = _("knowledge categories")
        ordering = ["position", "name"]
        indexes = [models.Index(fields=["workspace", "position"], name="kb_category_pos")]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class Article(OwnedRecord):
    """One article in one language; its translations share ``group``."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        INTERNAL = "internal", _("Internal")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Format(models.TextChoices):
        TEXT = "text", _("Plain text (simple formatting)")
        HTML = "html", _("HTML (sanitised)")

    object_type = "knowledge.article"

    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("body"), blank=True)
    body_format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.TEXT)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGES, default="zh-hans")
    # The translation group: the first article's id; its translations point to it too.
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("translation group"),
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name=_("category"),
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=300,
        blank=True,
        help_text=_("Other words customers use for this topic (searched, not shown)"),
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    view_count = models.PositiveIntegerField(_("views"), default=0)
    helpful_yes = models.PositiveIntegerField(_("helpful"), default=0)
    helpful_no = models.PositiveIntegerField(_("not helpful"), default=0)
    # Search index length (weighted term count): BM25's document length, kept with the terms.
    term_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["workspace", "status", "visibility", "language"], name="kb_article_pub"),
            models.Index(fields=["workspace", "group"], name="kb_article_group"),
            models.Index(fields=["workspace", "category", "status"], name="kb_article_cat"),
            models.Index(fields=["workspace", "-updated_at"], name="kb_article_updated"),
            models.Index(fields=["workspace", "created_at"], name="kb_article_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.visibility == self.Visibility.PUBLIC


class ArticleVersion(WorkspaceModel):
    """The article's content as saved at one version (every save keeps one)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("body"), blank=True)
    body_format = models.CharField(_("format"), max_length=10, default="text")
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "article", "number"], name="kb_version_unique"),
        ]


class ArticleFeedback(WorkspaceModel):
    """One "was this helpful" answer (public; rate-limited per address)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        indexes = [models.Index(fields=["workspace", "article", "created_at"], name="kb_feedback_article")]


class ArticleTerm(models.Model):
    """Search index row: ``term`` occurs in ``article`` with weight ``tf`` (title terms count more).

    Written by ``knowledge.search.index_article`` on every save; only published articles have rows,
    so a query reads the rows of its terms and nothing else. Derived data (rebuilt from articles),
    so it carries no audit stamps.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=64)
    tf = models.FloatField()

    objects = ScopedManager(workspace="workspace")

    class Meta:
        indexes = [models.Index(fields=["workspace", "term"], name="kb_term_lookup")]

    def __str__(self) -> str:
        return self.term
