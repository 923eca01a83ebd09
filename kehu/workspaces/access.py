"""Record access, enforced in one place for the UI, the API, exports and background jobs.

Every caller acts as an ``Actor`` (a membership, and the API key when the call came through one).
``visible`` narrows a queryset to the records the actor may see; ``access_record`` fetches one
record and authorises an action on it, answering ``NotFound`` both for a record that does not
exist and for one the actor may not see, so the answer leaks nothing.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.core.errors import NotFound, PermissionDenied

from .permissions import Grant, default_grant, grant_from_stored

if TYPE_CHECKING:
    from .models import ApiKey, Membership, Workspace


@dataclass
class Actor:
    membership: "Membership"
    api_key: "ApiKey | None" = None
    _grants: dict[str, Grant] = field(default_factory=dict, repr=False)

    @property
    def user(self):
        return self.membership.user

    @property
    def workspace(self) -> "Workspace":
        return self.membership.workspace

    @property
    def role(self):
        return self.membership.role

    @property
    def can_manage_workspace(self) -> bool:
        return self.membership.role.can_manage_workspace

    def grant(self, object_type: str) -> Grant:
        if object_type not in self._grants:
            role = self.membership.role
            stored = grant_from_stored(role.permissions.get(object_type))
            self._grants[object_type] = stored or default_grant(role.key, object_type)
        return self._grants[object_type]

    def can(self, action: str, object_type: str) -> bool:
        return self.grant(object_type).allows(action)

    @cached_property
    def team_ids(self) -> list[int]:
        from .models import Team

        return list(Team.objects.filter(members=self.membership.user_id).values_list("id", flat=True))

    @cached_property
    def teammate_ids(self) -> list[int]:
        from .models import Team

        return list(
            Team.members.through.objects.filter(team_id__in=self.team_ids)
            .values_list("user_id", flat=True)
            .distinct()
        )


def require(actor: Actor, action: str, object_type: str) -> None:
    if not actor.can(action, object_type):
        raise PermissionDenied()


def require_manager(actor: Actor) -> None:
    if not actor.can_manage_workspace:
        raise PermissionDenied(_("Only workspace administrators can do this."))


def scope_filter(actor: Actor, object_type: str) -> Q | None:
    """The filter that limits records of ``object_type`` to those the actor may see; None = all."""
    grant = actor.grant(object_type)
    if not grant.allows("view"):
        return Q(pk__in=[])
    if grant.scope == "all":
        return None
    if grant.scope == "team":
        return (
            Q(owner_id=actor.membership.user_id)
            | Q(team_id__in=actor.team_ids)
            | Q(owner_id__in=actor.teammate_ids)
        )
    return Q(owner_id=actor.membership.user_id)


def visible[M: Model](actor: Actor, queryset: QuerySet[M]) -> QuerySet[M]:
    object_type = queryset.model.object_type  # type: ignore[attr-defined]
    condition = scope_filter(actor, object_type)
    return queryset if condition is None else queryset.filter(condition)


def access_record[M: Model](actor: Actor, queryset: QuerySet[M], pk: object, action: str = "view") -> M:
    """Fetch one record the actor may see and check ``action`` on it (NotFound / PermissionDenied)."""
    try:
        record = visible(actor, queryset).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    require(actor, action, queryset.model.object_type)  # type: ignore[attr-defined]
    return record
