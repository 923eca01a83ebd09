"""The periodic part of tickets (auto-close), called by ``kehu scheduler`` once a minute.

One indexed query (``ticket_resolved_open``) finds the workspaces with resolved tickets older than
``TICKETS_AUTO_CLOSE_DAYS``; only those get a job. The SLA escalation job has its own tick
(``escalation.tick``).
"""

from datetime import timedelta

from django.utils import timezone
from django_scopes import scopes_disabled

from .models import Ticket
from .services import auto_close_days
from .tasks import close_resolved_tickets


def tick() -> int:
    """Enqueue the auto-close job of each workspace with tickets to close; how many were enqueued."""
    cutoff = timezone.now() - timedelta(days=auto_close_days())
    with scopes_disabled():
        workspace_ids = list(
            Ticket.objects.filter(status=Ticket.Status.RESOLVED, resolved_at__lt=cutoff)
            .order_by()
            .values_list("workspace_id", flat=True)
            .distinct()
        )
    for workspace_id in workspace_ids:
        close_resolved_tickets.enqueue(workspace_id)
    return len(workspace_ids)
