from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kehu.workspaces.models import Team


class MailboxForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Shown as the sender name of replies.")
    )
    address = forms.EmailField(
        label=_("Address"), help_text=_("The support address; replies are sent from it.")
    )
    imap_host = forms.CharField(
        label=_("IMAP server"),
        max_length=200,
        required=False,
        help_text=_("Leave empty for a mailbox whose mail a provider pushes to the webhook."),
    )
    imap_port = forms.IntegerField(label=_("IMAP port"), min_value=1, max_value=65535, initial=993)
    imap_ssl = forms.BooleanField(label=_("Use SSL/TLS"), required=False, initial=True)
    imap_user = forms.CharField(
        label=_("IMAP user"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to log in with the address."),
    )
    password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    folder = forms.CharField(label=_("Folder"), max_length=200, initial="INBOX")
    is_active = forms.BooleanField(label=_("Active (checked every minute)"), required=False, initial=True)
    default_team = forms.ModelChoiceField(
        label=_("Default queue (team)"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("New tickets go to this queue unless a routing rule gives one."),
    )
    default_category = forms.CharField(label=_("Default category"), max_length=100, required=False)
    mailer = forms.ChoiceField(label=_("Outgoing mail server"), choices=())

    def __init__(self, *args, has_password: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_team"].queryset = Team.objects.order_by("name")
        self.fields["mailer"].choices = [
            (alias, alias) for alias in getattr(settings, "MAILERS", {"default": {}})
        ]
        self.fields["password"].help_text = (
            _("A password is stored (encrypted, never shown). Leave empty to keep it.")
            if has_password
            else _("Stored encrypted; never shown again.")
        )

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        team = values.pop("default_team")
        values["default_team"] = team.pk if team else None
        if not values.get("password"):
            values.pop("password", None)  # empty keeps the stored password
        return values
