"""Form shapes for the knowledge-base pages; the rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LANGUAGES, Article, Category


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    category_id = forms.TypedChoiceField(label=_("Category"), coerce=int, empty_value=None, required=False)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=500,
        required=False,
        help_text=_("One or two sentences: the bot answers with them."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    body_format = forms.ChoiceField(label=_("Format"), choices=Article.Format.choices)
    body = forms.CharField(
        label=_("Body"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Plain text: a blank line starts a paragraph; “## ” a heading; “- ” a list item; "
            "**bold**; [label](https://…) a link. HTML is cleaned to a safe subset."
        ),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=300,
        required=False,
        help_text=_("Other words customers use for this topic (searched, not shown)"),
    )
    visibility = forms.ChoiceField(label=_("Visibility"), choices=Article.Visibility.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Article.Status.choices)
    translation_of = forms.TypedChoiceField(
        label=_("Translation of"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Links this article with the same article in the other language."),
    )

    def __init__(self, *args, record: Article | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = [("", "—"), *Category.objects.values_list("pk", "name")]
        others = Article.objects.order_by("-updated_at")
        if record is not None:
            others = others.exclude(pk=record.pk)
        self.fields["translation_of"].choices = [
            ("", "—"),
            *(
                (pk, f"{title} ({lang})")
                for pk, title, lang in others.values_list("pk", "title", "language")[:300]
            ),
        ]

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        if not values.get("translation_of"):
            values.pop("translation_of", None)
        return values


def article_initial(record: Article) -> dict:
    initial = {name: getattr(record, name) for name in ArticleForm.base_fields if hasattr(record, name)}
    initial["translation_of"] = record.group_id if record.group_id != record.pk else None
    return initial


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
