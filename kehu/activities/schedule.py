"""The periodic part of activities: ``tick()`` enqueues its jobs for every workspace.

``kehu scheduler`` (operations) calls ``tick`` once a minute; ``kehu demo`` starts it next to the
worker. Both jobs are idempotent, so a second scheduler, or a tick that runs late, does no harm.
"""

from .tasks import run_follow_up_plans, send_due_reminders


def tick() -> int:
    """Enqueue the follow-up plan run and the reminder job of each workspace; how many were enqueued."""
    from kehu.workspaces.models import Workspace

    count = 0
    for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True).iterator():
        run_follow_up_plans.enqueue(workspace_id)
        send_due_reminders.enqueue(workspace_id)
        count += 2
    return count
