"""Form shapes for the account and contact pages; the rules themselves live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.workspaces.access import Actor, visible
from kehu.workspaces.models import Membership

from .models import Account

ACCOUNT_CHOICES_LIMIT = 500


def _owner_choices(actor: Actor) -> list[tuple[str, str]]:
    members = Membership.objects.filter(is_active=True).select_related("user").order_by("user__name")
    return [("", "—")] + [(str(m.user_id), str(m.user)) for m in members]


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Account.Kind.choices)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any format; national numbers use the workspace's region."),
    )
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, actor: Actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = _owner_choices(actor)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    account_id = forms.TypedChoiceField(label=_("Account"), coerce=int, empty_value=None, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any format; national numbers use the workspace's region."),
    )
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    owner_id = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)

    def __init__(self, actor: Actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = _owner_choices(actor)
        # The most recently updated visible accounts, plus the current one; a search picker replaces this
        # list once accounts reach the thousands (customer-core issue).
        accounts = list(
            visible(actor, Account.objects.only("id", "name")).order_by("-updated_at")[:ACCOUNT_CHOICES_LIMIT]
        )
        current = self.initial.get("account_id") or (self.data.get("account_id") if self.is_bound else None)
        if current and str(current).isdigit() and all(a.pk != int(current) for a in accounts):
            accounts += list(visible(actor, Account.objects.only("id", "name")).filter(pk=int(current)))
        choices = sorted(((str(a.pk), a.name) for a in accounts), key=lambda c: c[1])
        self.fields["account_id"].choices = [("", "—"), *choices]
