"""Background jobs: the full export (as the member who asked) and the data quality refresh."""

from kehu.workspaces.tasks import actor_task, workspace_task


@actor_task
def run_workspace_export(actor, job_id: int) -> str:
    from .services import run_export

    return run_export(actor, job_id).status


@workspace_task
def refresh_quality(workspace, months: int) -> int:
    from .quality import refresh

    return refresh(workspace, months).pk
