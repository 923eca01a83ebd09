"""The workspace's audit trail over the API: read-only, administrators only, cursor-paginated."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Router, Schema

from kehu.core.api import actor_of, keyset
from kehu.core.errors import PermissionDenied

from .models import AuditEntry

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    action: str
    actor_id: int | None
    actor_label: str
    api_key_prefix: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    ip_address: str | None


@router.get("/audit", response=list[AuditEntryOut], summary="The audit trail (administrators)")
@keyset(orderings=("created_at", "id"), default="-created_at")
def list_audit(
    request,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor: int | None = None,
):
    if not actor_of(request).can_manage_workspace:
        raise PermissionDenied(_("Only workspace administrators can do this."))
    # The scoped manager limits entries to the request's workspace; operator-only events
    # without a workspace never match.
    queryset = AuditEntry.objects.all()
    filters = {"object_type": object_type, "object_id": object_id, "action": action, "actor_id": actor}
    return queryset.filter(**{name: value for name, value in filters.items() if value is not None})
