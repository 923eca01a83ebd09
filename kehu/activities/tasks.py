"""Background jobs of the activities app; the scheduler (``schedule.tick``) enqueues them."""

from kehu.workspaces.tasks import workspace_task

from . import plans, services


@workspace_task
def run_follow_up_plans(workspace) -> int:
    """Create the tasks that follow-up plans make due now (idempotent)."""
    return plans.run_follow_up_plans(workspace)


@workspace_task
def send_due_reminders(workspace) -> int:
    """Notify assignees of tasks whose reminder time passed (each task once)."""
    return services.send_due_reminders(workspace)
