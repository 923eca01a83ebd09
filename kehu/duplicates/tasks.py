"""Background work of the duplicates app: the batch scan. Enqueued by ``services.start_scan``."""

from kehu.workspaces.tasks import actor_task

from . import services


@actor_task
def scan_duplicates(actor, job_id: int) -> str:
    return services.run_scan_job(actor, job_id).status
