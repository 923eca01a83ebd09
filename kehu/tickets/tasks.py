"""Background jobs of tickets; ``schedule.tick`` enqueues them."""

from kehu.workspaces.tasks import workspace_task

from . import services


@workspace_task
def close_resolved_tickets(workspace) -> int:
    """Close tickets resolved more than ``TICKETS_AUTO_CLOSE_DAYS`` ago (idempotent)."""
    return services.close_resolved(workspace)
