"""Background jobs of predictions; ``schedule.tick`` enqueues them, "Refit now" enqueues ``refit``."""

from kehu.workspaces.tasks import workspace_task

from . import services


@workspace_task
def refit(workspace) -> dict:
    """Weekly: new CLV and churn models, then score every customer with them."""
    clv_row, churn_row = services.refit(workspace)
    return {
        "clv_version": clv_row.version,
        "clv_status": clv_row.status,
        "churn_version": churn_row.version,
        "churn_status": churn_row.status,
        "auc": churn_row.auc,
    }


@workspace_task
def score(workspace) -> int:
    """Nightly: apply the latest models to every customer (batches), refresh suggestions and outcomes."""
    return services.score(workspace)
