"""Workspaces (tenants), the people in them, their roles and teams, and API keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.models import WorkspaceModel


class Workspace(models.Model):
    """One company using Kehu. Every business row points to exactly one workspace."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    default_region = models.CharField(
        _("default phone region"), max_length=2, default="CN", help_text=_("ISO 3166 country code")
    )
    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY")
    default_language = models.CharField(_("default language"), max_length=10, default="zh-hans")
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name


class Role(WorkspaceModel):
    """A named set of permissions: per object type, the allowed actions and the visible records.

    ``permissions`` maps an object type key to ``{"actions": [...], "scope": "own|team|all"}``;
    object types it does not name fall back to the built-in defaults of the role's ``key``.
    """

    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    is_system = models.BooleanField(_("built in"), default=False)
    can_manage_workspace = models.BooleanField(_("can manage the workspace"), default=False)
    permissions = models.JSONField(_("permissions"), default=dict, blank=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="role_unique_key")]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str:
        """The name to show: built-in roles in the user's language, custom roles as named."""
        from .permissions import SYSTEM_ROLES

        return str(SYSTEM_ROLES[self.key]) if self.is_system and self.key in SYSTEM_ROLES else self.name


class Team(WorkspaceModel):
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="kehu_teams", blank=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class Membership(WorkspaceModel):
    """A user's place in a workspace: the role decides what they may do and see."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    is_active = models.BooleanField(_("active"), default=True)
    # The workspace a user lands in after logging in is the one they used last.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace_id}"


class ApiKey(WorkspaceModel):
    """A secret for the REST API, acting as one member. Only a SHA-256 hash of it is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
