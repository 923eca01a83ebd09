from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.grading import grade_choices
from kehu.customers.models import Account
from kehu.listviews.services import views_of

from .models import Kind


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.NPS)
    question_zh = forms.CharField(label=_("Question (Chinese)"), max_length=300, required=False)
    question_en = forms.CharField(label=_("Question (English)"), max_length=300, required=False)
    audience_view_id = forms.TypedChoiceField(
        label=_("Saved contact view"), coerce=int, empty_value=None, required=False
    )
    audience_grades = forms.MultipleChoiceField(
        label=_("Account grades"), required=False, widget=forms.CheckboxSelectMultiple
    )
    audience_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        required=False,
        choices=Account.Lifecycle.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    valid_days = forms.IntegerField(label=_("Link valid for (days)"), min_value=1, max_value=365, initial=30)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience_view_id"].choices = [("", _("— all contacts —"))] + [
            (v.pk, v.name) for v in views_of(actor, "customers.contact")
        ]
        self.fields["audience_grades"].choices = grade_choices(actor.workspace)
