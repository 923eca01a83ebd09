"""Background job of the quotes app; ``schedule.tick`` enqueues it."""

from kehu.workspaces.tasks import workspace_task

from . import services


@workspace_task
def expire_quotes(workspace) -> int:
    """Mark sent quotes past their validity expired (idempotent)."""
    return services.expire_due(workspace)
