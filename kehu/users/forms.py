"""Forms for logging in and managing one's own account."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from . import services


class LoginForm(AuthenticationForm):
    """Email + password, authenticated through the throttled ``services.login_attempt``.

    The field names stay ``username``/``password`` (ids ``id_username``/``id_password``): browser
    tests and password managers rely on them.
    """

    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                self.user_cache = services.login_attempt(self.request, email, password)
            except services.LoginRefused as refused:
                raise forms.ValidationError(refused.message, code=refused.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
