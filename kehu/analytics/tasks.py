"""Background jobs: ``schedule.tick`` enqueues them nightly, "Recompute now" and the API on demand."""

from datetime import datetime

from kehu.workspaces.tasks import workspace_task

from . import engine
from .models import AnalyticsRun


@workspace_task
def recompute(workspace, kind: str = "full", requested_at: str = "") -> dict:
    """Recompute lifecycle stages, RFM scores, grades and profitability of the workspace.

    A job requested before a run of the same kind (or a full one) started is already served by it:
    the scheduler may enqueue again while a job waits for the worker.
    """
    if requested_at:
        since = datetime.fromisoformat(requested_at)
        kinds = ["full"] if kind == "full" else ["full", "incremental"]
        if (
            AnalyticsRun.objects.filter(kind__in=kinds, started_at__gte=since)
            .exclude(status="failed")
            .exists()
        ):
            return {"skipped": True}
    run = engine.compute(workspace, kind)
    return {"run": run.pk, "kind": run.kind, "accounts": run.accounts, "stats": run.stats}
