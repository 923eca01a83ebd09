"""Login, logout, password change and reset, the profile page and the language switch."""

from contextlib import suppress

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from . import services
from .forms import LoginForm, ProfileForm


class LoginView(auth_views.LoginView):
    template_name = "users/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_login(self.request, form.get_user())
        return response


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.record_logout(request, request.user)
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("users:login")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "users/password_change.html"
    success_url = reverse_lazy("users:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_password_change(self.request, form.user)
        messages.success(self.request, _("Your password has been changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "users/password_reset_form.html"
    email_template_name = "users/password_reset_email.txt"
    subject_template_name = "users/password_reset_subject.txt"
    success_url = reverse_lazy("users:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "users/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "users/password_reset_confirm.html"
    success_url = reverse_lazy("users:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_password_reset(self.request, form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "users/password_reset_complete.html"


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial={"name": request.user.name})
    if request.method == "POST" and form.is_valid():
        services.update_profile(request.user, name=form.cleaned_data["name"], request=request)
        messages.success(request, _("Your profile has been saved."))
        return redirect("users:profile")
    return render(request, "users/profile.html", {"form": form})


def set_language(request):
    """Django's ``set_language``, and for a logged-in user also ``User.language`` (kept across devices)."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and response.status_code == 302:
        # An unknown language was already ignored by Django; there is nothing to remember.
        with suppress(ValueError):
            services.set_language(request.user, language)
    return response
