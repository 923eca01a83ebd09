"""Form shapes for the account and contact pages; the rules themselves live in services."""

from django import forms
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from kehu.core.pickers import RecordPickerField
from kehu.customfields.forms import add_custom_fields, clean_custom_form
from kehu.workspaces.access import Actor, visible
from kehu.workspaces.models import Membership, Team

from .models import Account, Address, Contact

PHONE_HELP = _("Any format; national numbers use the workspace's region.")


def _owner_choices() -> list[tuple[str, str]]:
    # A select: a workspace has tens of members, not thousands (accounts and contacts use pickers).
    members = Membership.objects.filter(is_active=True).select_related("user").order_by("user__name")
    return [("", "—")] + [(str(m.user_id), str(m.user)) for m in members]


def _team_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(str(t.pk), t.name) for t in Team.objects.order_by("name")]


def account_picker(**kwargs) -> RecordPickerField:
    """A search picker of accounts; the form sets ``.queryset = visible(actor, Account.objects.all())``
    in ``__init__`` so only accounts the user may see are accepted."""
    return RecordPickerField(search_url=reverse_lazy("customers:account-pick"), **kwargs)


def contact_picker(**kwargs) -> RecordPickerField:
    """A search picker of contacts (``depends="account=account_id"`` narrows it to the account chosen
    in the form's ``account_id``); set ``.queryset`` as for ``account_picker``."""
    return RecordPickerField(search_url=reverse_lazy("customers:contact-pick"), **kwargs)


class TagsField(forms.CharField):
    """Tags typed as a comma-separated list (either comma: , or ，)."""

    def __init__(self, **kwargs):
        super().__init__(label=_("Tags"), required=False, help_text=_("Separate tags with commas."), **kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = (value or "").replace("，", ",")
        return [part.strip() for part in text.split(",") if part.strip()]


class RecordForm(forms.Form):
    """Common set-up: owner, team and account pickers come from the workspace."""

    def __init__(self, actor: Actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = _owner_choices()
        self.fields["team_id"].choices = _team_choices()

    def clean(self):
        # custom__<key> fields → cleaned_data["custom"], checked with the service's rules.
        return clean_custom_form(self, super().clean())

    def service_values(self) -> dict:
        """The cleaned data in the shape the services take."""
        return dict(self.cleaned_data)


class AccountForm(RecordForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("Latin name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Account.Kind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Account.Status.choices)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=[("", "—"), *Account.Size.choices], required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    parent_id = account_picker(label=_("Parent account"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=PHONE_HELP)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("Two-letter code, e.g. CN")
    )
    province = forms.CharField(label=_("Province / state"), max_length=100, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    district = forms.CharField(label=_("District"), max_length=100, required=False)
    street = forms.CharField(label=_("Street"), max_length=300, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    tags = TagsField()
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, actor: Actor, *args, record: Account | None = None, **kwargs):
        super().__init__(actor, *args, **kwargs)
        self.fields["parent_id"].queryset = visible(actor, Account.objects.all())
        if record is not None:  # not its own parent (deeper cycles are the service's check)
            self.fields[
                "parent_id"
            ].widget.search_url = f"{reverse('customers:account-pick')}?exclude={record.pk}"
        add_custom_fields(self, actor, Account.object_type, record)


class ContactForm(RecordForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("Latin name"), max_length=200, required=False)
    account_id = account_picker(label=_("Account"), required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=PHONE_HELP)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"), choices=[("", "—"), *Contact.Channel.choices], required=False
    )
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"),
        required=False,
        choices=[("", "—"), ("zh-hans", _("Simplified Chinese")), ("en", _("English"))],
    )
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    wechat = forms.CharField(label=_("WeChat ID"), max_length=100, required=False)
    linkedin = forms.CharField(label=_("LinkedIn"), max_length=200, required=False)
    consent_email = forms.BooleanField(label=_("Agrees to marketing email"), required=False)
    consent_sms = forms.BooleanField(label=_("Agrees to marketing SMS"), required=False)
    consent_phone = forms.BooleanField(label=_("Agrees to marketing calls"), required=False)
    tags = TagsField()
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=None, required=False)

    SOCIAL = ("wechat", "linkedin")

    def __init__(self, actor: Actor, *args, record: Contact | None = None, **kwargs):
        super().__init__(actor, *args, **kwargs)
        self.fields["account_id"].queryset = visible(actor, Account.objects.all())
        add_custom_fields(self, actor, Contact.object_type, record)

    def service_values(self) -> dict:
        """Cleaned data in the services' shape: the social handles go together."""
        values = dict(self.cleaned_data)
        values["social"] = {k: values.pop(k) for k in self.SOCIAL if values.get(k) is not None}
        return values


def initial_values(form_class: type[RecordForm], record, tags: list[str]) -> dict:
    """A record's current values in the form's fields."""
    initial = {name: getattr(record, name) for name in form_class.base_fields if hasattr(record, name)}
    for network in getattr(form_class, "SOCIAL", ()):
        initial[network] = record.social.get(network, "")
    initial["tags"] = tags
    return initial


class AddressForm(forms.Form):
    """One address on the account or contact page (the rules are the services')."""

    kind = forms.ChoiceField(label=_("Type"), choices=Address.Kind.choices, initial=Address.Kind.OFFICE)
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("Two-letter code, e.g. CN")
    )
    province = forms.CharField(label=_("Province / state"), max_length=100, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    district = forms.CharField(label=_("District"), max_length=100, required=False)
    street = forms.CharField(label=_("Street"), max_length=300, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    is_primary = forms.BooleanField(label=_("Primary address"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "address")
        super().__init__(*args, **kwargs)
