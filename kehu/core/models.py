"""Base classes for every business row: it belongs to one workspace and records who touched it.

Tenancy is enforced by the ORM (django-scopes): the default manager of a workspace model raises
``ScopeError`` unless the code runs inside ``scope(workspace=...)``, so a query that forgets the
workspace fails loudly instead of leaking another company's data.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


def workspace_key(*, db_index: bool = True) -> models.ForeignKey:
    """The workspace of a row (``WorkspaceModel.workspace``). ``db_index=False`` for a table whose
    other indexes all start with the workspace: they serve the cascade, and each index costs every
    inserted row."""
    return models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("workspace"),
        db_index=db_index,
    )


class WorkspaceModel(models.Model):
    """A row that belongs to exactly one workspace, with creation and update stamps."""

    workspace = workspace_key()
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )

    objects = ScopedManager(workspace="workspace")

    class Meta:
        abstract = True


class OwnedRecord(WorkspaceModel):
    """A business record with an owner and an optional team: the unit of record-level access."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "workspaces.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team"),
    )

    # The object type's key in the permission registry ("customers.account"); set by subclasses.
    object_type: str = ""

    class Meta:
        abstract = True


class RequestCounter(models.Model):
    """A hit counter of ``kehu.core.ratelimit`` when the deployment counts in its database.

    Not a workspace row: the keys (API key, user, address, workspace) carry what they count. One
    atomic upsert per hit replaces the database cache's get-then-set (about eight queries, and two
    concurrent requests could both read the old count).
    """

    key = models.CharField(max_length=250, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.FloatField(help_text="Unix seconds")

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="request_counter_expiry")]

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
