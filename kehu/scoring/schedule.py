"""The periodic part of lead scoring, called by ``kehu scheduler`` once a minute.

Every tick: rescore leads whose timeline changed (engagement points). Once a day per workspace
(``SCORING_RETRAIN_HOURS``, default 24): retrain the predictive model and rescore every open lead,
so time decay and new won/lost history reach the stored scores. Both jobs are idempotent.
"""

from datetime import timedelta

from django.conf import settings
from django_scopes import scopes_disabled

from . import services
from .tasks import rescore_engaged, retrain


def tick() -> int:
    """Enqueue the scoring jobs that are due, for every workspace; how many were enqueued."""
    from kehu.workspaces.models import Workspace

    every = timedelta(hours=getattr(settings, "SCORING_RETRAIN_HOURS", 24))
    count = 0
    with scopes_disabled():
        for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True).iterator():
            rescore_engaged.enqueue(workspace_id)
            count += 1
            if services.retrain_due(workspace_id, every):
                services.mark_retrain_requested(workspace_id)
                retrain.enqueue(workspace_id)
                count += 1
    return count
