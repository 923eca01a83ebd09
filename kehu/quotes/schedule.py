"""The periodic part of quotes, called by ``kehu scheduler`` once a minute.

One indexed query finds the workspaces that have sent quotes past their validity; only those get
an expiry job, so an idle tick costs one query, not one job per workspace.
"""

from django.utils import timezone
from django_scopes import scopes_disabled

from .models import Quote
from .tasks import expire_quotes


def tick() -> int:
    """Enqueue the expiry job of each workspace with quotes due; how many were enqueued."""
    today = timezone.localdate()
    with scopes_disabled():
        due = (
            Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today)
            .order_by()
            .values_list("workspace_id", flat=True)
            .distinct()
        )
        workspace_ids = list(due)
    for workspace_id in workspace_ids:
        expire_quotes.enqueue(workspace_id)
    return len(workspace_ids)
