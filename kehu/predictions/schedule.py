"""The periodic part of predictions, called by ``kehu scheduler`` once a minute.

Once per ``PREDICTIONS_SCORE_HOURS`` (default 24) per workspace with orders: a refit (new models,
then scoring) when the last fit is older than ``PREDICTIONS_REFIT_DAYS`` (default 7), else a
scoring run. The cache remembers the enqueue, so the ticks in between cost one cache read per
workspace; the jobs are idempotent, so a lost cache entry only means an extra run.
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_scopes import scopes_disabled

from .models import ClvModel
from .tasks import refit, score


def tick() -> int:
    from kehu.commerce.models import Order
    from kehu.workspaces.models import Workspace

    refit_every = timedelta(days=getattr(settings, "PREDICTIONS_REFIT_DAYS", 7))
    score_every = timedelta(hours=getattr(settings, "PREDICTIONS_SCORE_HOURS", 24))
    count = 0
    with scopes_disabled():
        for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True).iterator():
            key = f"predictions:due:{workspace_id}"
            if not cache.add(key, timezone.now().isoformat(), timeout=int(score_every.total_seconds())):
                continue
            if not Order.objects.filter(workspace_id=workspace_id).exists():
                continue
            last = ClvModel.objects.filter(workspace_id=workspace_id).order_by("-fitted_at").first()
            if last is None or last.fitted_at < timezone.now() - refit_every:
                refit.enqueue(workspace_id)
            else:
                score.enqueue(workspace_id)
            count += 1
    return count
