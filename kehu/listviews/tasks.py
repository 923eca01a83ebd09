"""Background list jobs: large exports and bulk changes, run as the member who asked."""

from kehu.workspaces.tasks import actor_task


@actor_task
def run_list_job(actor, job_id: int) -> str:
    from .services import run_job

    return run_job(actor, job_id).status
