"""Background job of the reports app; ``schedule.tick`` enqueues it."""

from kehu.workspaces.tasks import workspace_task

from . import mail


@workspace_task
def send_dashboard_email(workspace, dashboard_id: int) -> int:
    """Email a scheduled dashboard to its recipients if it is due (idempotent)."""
    return mail.send_due(workspace, dashboard_id)
