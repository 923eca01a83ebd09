"""Background tasks of imports: run (or resume) a job, undo a job. Enqueued by ``services``."""

from kehu.workspaces.tasks import actor_task

from . import services


@actor_task
def run_import(actor, job_id: int) -> str:
    return services.run(actor, job_id).status


@actor_task
def undo_import(actor, job_id: int) -> str:
    return services.run_undo(actor, job_id).status
