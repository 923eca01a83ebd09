"""Background jobs of lead scoring; ``schedule.tick`` enqueues them, "Retrain now" enqueues ``retrain``."""

from kehu.workspaces.tasks import workspace_task

from . import services


@workspace_task
def retrain(workspace) -> dict:
    """Train a new predictive model version, then rescore the open leads in batches."""
    row = services.train(workspace)
    return {"version": row.version, "status": row.status, "auc": row.auc, "rescored": row.rescored}


@workspace_task
def rescore_engaged(workspace) -> int:
    """Rescore leads with new timeline entries (engagement rules); cheap when nothing happened."""
    return services.rescore_engaged(workspace)
