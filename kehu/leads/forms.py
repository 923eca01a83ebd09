"""Form shapes for the lead pages and the leads settings; the rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.forms import (
    PHONE_HELP,
    RecordForm,
    _owner_choices,
    _team_choices,
    account_picker,
    contact_picker,
)
from kehu.customers.models import Account, Contact
from kehu.customfields.forms import add_custom_fields
from kehu.workspaces.access import Actor, visible

from .models import AssignmentRule, Lead, WebForm


class LeadForm(RecordForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("Latin name"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=PHONE_HELP)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("Two-letter code, e.g. CN")
    )
    province = forms.CharField(label=_("Province / state"), max_length=100, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=[("", "—"), *Lead.Size.choices], required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Lead.Source.choices, initial=Lead.Source.MANUAL)
    status = forms.ChoiceField(label=_("Status"), choices=Lead.Status.choices, initial=Lead.Status.NEW)
    disqualified_reason = forms.CharField(label=_("Reason for disqualifying"), max_length=200, required=False)
    utm_source = forms.CharField(label=_("UTM source"), max_length=100, required=False)
    utm_medium = forms.CharField(label=_("UTM medium"), max_length=100, required=False)
    utm_campaign = forms.CharField(label=_("UTM campaign"), max_length=100, required=False)
    owner_id = forms.TypedChoiceField(
        label=_("Owner"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Leave empty to let the assignment rules choose."),
    )
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, actor: Actor, *args, record: Lead | None = None, **kwargs):
        super().__init__(actor, *args, **kwargs)
        add_custom_fields(self, actor, Lead.object_type, record)


def lead_initial(record: Lead) -> dict:
    return {name: getattr(record, name) for name in LeadForm.base_fields if hasattr(record, name)}


class ConvertForm(forms.Form):
    """Convert into an existing account/contact (search pickers over what the user may see) or new ones."""

    account_id = account_picker(label=_("Account"), required=False, help_text=_("Empty: a new account"))
    contact_id = contact_picker(
        label=_("Contact"),
        required=False,
        help_text=_("Empty: a new contact"),
        depends="account=account_id",  # suggests the chosen account's people
    )
    create_opportunity = forms.BooleanField(label=_("Also create an opportunity"), required=False)
    pipeline_id = forms.TypedChoiceField(label=_("Pipeline"), coerce=int, empty_value=None, required=False)
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=16, decimal_places=2
    )

    def __init__(self, actor: Actor, *args, pipelines=(), hints: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_id"].queryset = visible(actor, Account.objects.all())
        self.fields["contact_id"].queryset = visible(actor, Contact.objects.all())
        self.fields["pipeline_id"].choices = [("", _("Default pipeline")), *pipelines]
        for name, names in (hints or {}).items():
            if names:  # existing records that look like the lead: what to search for
                self.fields[name].help_text = _("%(empty)s. Maybe: %(names)s") % {
                    "empty": str(self.fields[name].help_text).rstrip("."),
                    "names": "; ".join(names),
                }


def _multi(choices, label, help_text=""):
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple, help_text=help_text
    )


FIELD_LABELS = {name: Lead._meta.get_field(name).verbose_name for name in WebForm.FIELD_CHOICES}


class WebFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    fields = _multi(list(FIELD_LABELS.items()), _("Fields"), _("The name is always asked."))
    required_fields = _multi(list(FIELD_LABELS.items()), _("Required fields"))
    submit_label = forms.CharField(label=_("Button text"), max_length=60, required=False)
    thank_you_text = forms.CharField(
        label=_("Thank-you text"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    redirect_url = forms.URLField(label=_("Redirect after submitting"), required=False, assume_scheme="https")
    default_source = forms.ChoiceField(
        label=_("Source"), choices=Lead.Source.choices, initial=Lead.Source.WEB_FORM
    )
    default_owner_id = forms.TypedChoiceField(
        label=_("Default owner"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Owner when no assignment rule matches"),
    )
    run_assignment = forms.BooleanField(label=_("Run the assignment rules"), required=False, initial=True)
    allowed_origins = forms.CharField(
        label=_("Allowed origins"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=WebForm._meta.get_field("allowed_origins").help_text,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_owner_id"].choices = _owner_choices()


CONDITION_FIELDS = [
    ("", "—"),
    *((name, Lead._meta.get_field(name).verbose_name) for name in AssignmentRule.CONDITION_FIELDS),
]


class RuleForm(forms.Form):
    """A rule with up to three conditions (field + comma-separated values); all must hold."""

    CONDITIONS = 3

    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(
        label=_("Position"), min_value=0, required=False, help_text=_("Lowest runs first")
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    user_id = forms.TypedChoiceField(label=_("Assign to user"), coerce=int, empty_value=None, required=False)
    team_id = forms.TypedChoiceField(
        label=_("Assign to team"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Round-robin among the team's members"),
    )
    weights = forms.CharField(
        label=_("Weights"),
        required=False,
        max_length=500,
        help_text=_("e.g. “sales@example.com=2, ann@example.com=1”; members not listed weigh 1, 0 skips"),
    )
    daily_cap = forms.IntegerField(label=_("Daily cap per user"), min_value=1, required=False)
    sla_hours = forms.IntegerField(label=_("First contact within (hours)"), min_value=1, initial=24)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = _owner_choices()
        self.fields["team_id"].choices = _team_choices()
        for i in range(self.CONDITIONS):
            self.fields[f"condition_{i}_field"] = forms.ChoiceField(
                label=_("Condition %(n)s: field") % {"n": i + 1},
                choices=CONDITION_FIELDS,
                required=False,
                help_text=_("Custom fields: custom.<key>") if i == 0 else "",
            )
            self.fields[f"condition_{i}_custom"] = forms.CharField(
                label=_("… or custom field key"), required=False, max_length=60
            )
            self.fields[f"condition_{i}_value"] = forms.CharField(
                label=_("Condition %(n)s: equals one of") % {"n": i + 1}, required=False, max_length=500
            )
