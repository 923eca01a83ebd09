"""The audit trail: who did what, when, to which record, with the field-level change."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class AuditEntry(models.Model):
    """One recorded event. Written only through ``kehu.audit.services.record``; never edited.

    Security events that belong to no workspace (a failed login for an unknown email) have no
    workspace; they are visible only to operators, not through any workspace's UI or API.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        DELETE = "delete", _("deleted")
        LOGIN = "login", _("logged in")
        LOGIN_FAILED = "login_failed", _("login failed")
        LOCKED = "locked", _("locked after failed logins")
        LOGOUT = "logout", _("logged out")
        PASSWORD_RESET = "password_reset", _("password reset")
        PERMISSION_CHANGE = "permission_change", _("permissions changed")
        EXPORT = "export", _("exported")
        REVOKE = "revoke", _("revoked")

    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("who"), max_length=200, blank=True)
    api_key_prefix = models.CharField(max_length=16, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("record"), max_length=64, blank=True)
    object_repr = models.CharField(_("record name"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ScopedManager(workspace="workspace")

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="audit_ws_time"),
            models.Index(
                fields=["workspace", "object_type", "object_id", "-created_at"], name="audit_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
