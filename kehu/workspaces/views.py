"""Workspace settings pages for administrators: workspace, members, roles, teams and API keys.

Views validate input and call ``kehu.workspaces.services``; they hold no rules of their own. Pages
for administrators answer 404 to everyone else, exactly like a page that does not exist.
"""

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core.errors import DomainError

from . import services
from .models import ApiKey, Membership, Role, Team
from .permissions import ACTIONS, OBJECT_TYPES, SCOPES, default_grant, grant_from_stored

# --- access decorators (shared with the audit pages) -----------------------------------------------


def member_required(view):
    """Logged in through the browser and an active member of the current workspace, else 404."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        actor = getattr(request, "actor", None)
        if actor is None or actor.api_key is not None:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view):
    """Like ``member_required``, and the member's role manages the workspace; else 404."""

    @member_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.actor.can_manage_workspace:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def show_domain_error(request, error: DomainError, form: forms.Form | None = None) -> None:
    """Put a service's error on the form's fields (or as a toast when no form or field fits)."""
    placed = False
    if form is not None:
        for detail in error.details:
            name = detail.field if detail.field in form.fields else None
            form.add_error(name, str(detail.message))
            placed = True
        if not placed:
            form.add_error(None, str(error.message))
            placed = True
    if not placed:
        messages.error(request, " ".join([str(error.message), *(str(d.message) for d in error.details)]))


ACTION_LABELS = {
    "view": gettext_lazy("View"),
    "create": gettext_lazy("Create"),
    "change": gettext_lazy("Change"),
    "delete": gettext_lazy("Delete"),
    "export": gettext_lazy("Export"),
}
SCOPE_LABELS = {
    "own": gettext_lazy("Own records"),
    "team": gettext_lazy("Team's records"),
    "all": gettext_lazy("All records"),
}


def _role_choices():
    return [(r.key, r.label) for r in Role.objects.order_by("-is_system", "id")]


# --- workspace ------------------------------------------------------------------------------------


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    default_language = forms.ChoiceField(label=gettext_lazy("Default language"), choices=settings.LANGUAGES)
    default_region = forms.CharField(
        label=gettext_lazy("Default phone region"), max_length=2, min_length=2,
        help_text=gettext_lazy("Two-letter country code, e.g. CN"),
    )
    base_currency = forms.CharField(
        label=gettext_lazy("Base currency"), max_length=3, min_length=3,
        help_text=gettext_lazy("Three-letter currency code, e.g. CNY"),
    )
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), max_length=60)

    def clean_default_region(self):
        return self.cleaned_data["default_region"].upper()

    def clean_base_currency(self):
        return self.cleaned_data["base_currency"].upper()

    def clean_time_zone(self):
        import zoneinfo

        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone."))
        return value


@admin_required
def workspace_settings(request):
    workspace = request.workspace
    initial = {name: getattr(workspace, name) for name in services.WORKSPACE_SETTINGS}
    form = WorkspaceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_workspace(request.actor, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Workspace settings saved."))
            return redirect("workspaces:settings")
    return render(request, "workspaces/settings.html", {"form": form})


# --- members --------------------------------------------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=150, required=False,
        help_text=gettext_lazy("Used when the person has no Kehu account yet."),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices()
        self.fields["role"].initial = "sales"


@admin_required
def members(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership, created = services.invite_member(
                request.actor, data["email"], data["role"], name=data["name"]
            )
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            if created:
                services.send_invitation(request, membership.user, request.workspace)
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": membership.user.email}
                )
            else:
                messages.success(request, _("%(email)s was added.") % {"email": membership.user.email})
            return redirect("workspaces:members")
    rows = Membership.objects.select_related("user", "role").order_by("-is_active", "user__email")
    return render(
        request, "workspaces/members.html",
        {"form": form, "rows": rows, "role_choices": _role_choices()},
    )


@admin_required
@require_POST
def member_change(request, pk: int):
    membership = get_object_or_404(Membership.objects.select_related("user", "role"), pk=pk)
    role_key = request.POST.get("role") or None
    is_active = {"1": True, "0": False}.get(request.POST.get("is_active", ""))
    try:
        services.change_member(request.actor, membership, role_key=role_key, is_active=is_active)
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("%(user)s was updated.") % {"user": membership.user})
    return redirect("workspaces:members")


# --- roles ----------------------------------------------------------------------------------------


class RoleCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    key = forms.SlugField(
        label=gettext_lazy("Key"), max_length=40,
        help_text=gettext_lazy("Letters, digits and hyphens; used by the API."),
    )
    copy_from = forms.ChoiceField(label=gettext_lazy("Start from the permissions of"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["copy_from"].choices = _role_choices()
        self.fields["copy_from"].initial = "sales"


def _object_types():
    return sorted(OBJECT_TYPES.values(), key=lambda ot: (ot.domain, ot.key))


def effective_grants(role: Role) -> dict:
    """Each registered object type's grant for ``role``: stored, else the built-in default."""
    return {
        ot.key: grant_from_stored(role.permissions.get(ot.key)) or default_grant(role.key, ot.key)
        for ot in _object_types()
    }


@admin_required
def roles(request):
    form = RoleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = Role.objects.filter(key=data["copy_from"]).first()
        permissions = (
            {key: grant.as_dict() for key, grant in effective_grants(source).items()} if source else {}
        )
        try:
            role = services.create_role(request.actor, data["key"], data["name"], permissions)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Role %(name)s created.") % {"name": role.name})
            return redirect("workspaces:role", pk=role.pk)
    rows = [
        {"role": role, "label": role.label, "members": role.member_count}
        for role in Role.objects.order_by("-is_system", "id").annotate(
            member_count=Count("memberships", filter=Q(memberships__is_active=True))
        )
    ]
    return render(request, "workspaces/roles.html", {"form": form, "rows": rows})


@admin_required
def role_edit(request, pk: int):
    role = get_object_or_404(Role, pk=pk)
    grants = effective_grants(role)
    errors: list[str] = []
    name = role.name
    if request.method == "POST":
        # Built-in roles keep their (translated) names; only custom roles are renamed.
        name = role.name if role.is_system else (request.POST.get("name", "").strip() or role.name)
        posted = {}
        for ot in _object_types():
            actions = [a for a in ACTIONS if request.POST.get(f"perm:{ot.key}:{a}")]
            scope = request.POST.get(f"scope:{ot.key}", "own")
            grant = {"actions": actions, "scope": scope if scope in SCOPES else "own"}
            # Store only what differs from the role's built-in defaults, so later default changes
            # still reach the rest.
            if grant != default_grant(role.key, ot.key).as_dict():
                posted[ot.key] = grant
        try:
            services.change_role(request.actor, role, name=name[:100], permissions=posted)
        except DomainError as error:
            errors = [str(error.message), *(str(d.message) for d in error.details)]
        else:
            messages.success(request, _("Permissions of %(name)s saved.") % {"name": role.name})
            return redirect("workspaces:role", pk=role.pk)
    matrix = [
        {
            "type": ot,
            "cells": [
                {"label": ACTION_LABELS.get(a, a), "name": f"perm:{ot.key}:{a}",
                 "checked": grants[ot.key].allows(a)}
                for a in ACTIONS
            ],
            "scope_name": f"scope:{ot.key}",
            "scope": grants[ot.key].scope,
        }
        for ot in _object_types()
    ]
    context = {
        "role": role,
        "label": role.label,
        "name": name,
        "matrix": matrix,
        "actions": [(a, ACTION_LABELS.get(a, a)) for a in ACTIONS],
        "scopes": [(s, SCOPE_LABELS[s]) for s in SCOPES],
        "errors": errors,
    }
    return render(request, "workspaces/role_edit.html", context)


# --- teams ----------------------------------------------------------------------------------------


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)


def _active_members():
    return Membership.objects.filter(is_active=True).select_related("user").order_by("user__email")


@admin_required
def teams(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(request.actor, form.cleaned_data["name"].strip())
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("workspaces:team", pk=team.pk)
    rows = Team.objects.order_by("name").prefetch_related("members")
    return render(request, "workspaces/teams.html", {"form": form, "rows": rows})


@admin_required
def team_edit(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST" and form.is_valid():
        try:
            member_ids = [int(v) for v in request.POST.getlist("members")]
        except ValueError:
            member_ids = []
        try:
            if form.cleaned_data["name"].strip() != team.name:
                services.rename_team(request.actor, team, form.cleaned_data["name"].strip())
            services.set_team_members(request.actor, team, member_ids)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
            return redirect("workspaces:teams")
    current = set(team.members.values_list("id", flat=True))
    people = [{"membership": m, "checked": m.user_id in current} for m in _active_members()]
    return render(request, "workspaces/team_edit.html", {"form": form, "team": team, "people": people})


@admin_required
def team_delete(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    if request.method == "POST":
        name = team.name
        try:
            services.delete_team(request.actor, team)
        except DomainError as error:
            show_domain_error(request, error)
        else:
            messages.success(request, _("Team %(name)s deleted.") % {"name": name})
        return redirect("workspaces:teams")
    return render(request, "workspaces/team_delete.html", {"team": team})


# --- API keys -------------------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=100,
        help_text=gettext_lazy("What the key is for, e.g. “ERP sync”."),
    )
    user = forms.TypedChoiceField(label=gettext_lazy("Acts as"), coerce=int, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        if actor.can_manage_workspace:
            self.fields["user"].choices = [(m.user_id, str(m.user)) for m in _active_members()]
            self.fields["user"].initial = actor.user.pk
        else:
            del self.fields["user"]


def _keys_for(actor):
    keys = ApiKey.objects.select_related("user").order_by("revoked_at", "-created_at")
    return keys if actor.can_manage_workspace else keys.filter(user=actor.user)


@member_required
def api_keys(request):
    """Every member manages their own keys; administrators see and revoke everyone's."""
    actor = request.actor
    form = ApiKeyForm(request.POST or None, actor=actor)
    secret = None
    if request.method == "POST" and form.is_valid():
        user = None
        if form.cleaned_data.get("user"):
            user = Membership.objects.select_related("user").get(
                user_id=form.cleaned_data["user"]
            ).user
        try:
            _key, secret = services.create_api_key(actor, form.cleaned_data["name"].strip(), user=user)
        except DomainError as error:
            show_domain_error(request, error, form)
        else:
            form = ApiKeyForm(actor=actor)
    response = render(
        request, "workspaces/api_keys.html", {"form": form, "keys": _keys_for(actor), "secret": secret}
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@member_required
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(_keys_for(request.actor), pk=pk)
    try:
        services.revoke_api_key(request.actor, key)
    except DomainError as error:
        show_domain_error(request, error)
    else:
        messages.success(request, _("API key %(name)s revoked.") % {"name": key.name})
    return redirect("workspaces:api-keys")
