"""The periodic part of customer analytics, called by ``kehu scheduler`` once a minute.

Once a night (after ``ANALYTICS_NIGHTLY_HOUR``, default 2 o'clock local time) a full recompute per
workspace; every ``ANALYTICS_INCREMENTAL_MINUTES`` (default 15) an incremental one, which is cheap
when nothing changed. A job that waited while another run served it does nothing (``requested_at``).
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .models import AnalyticsRun
from .tasks import recompute


def due(now=None) -> str | None:
    """ "full", "incremental" or None for the current workspace's scope."""
    now = now or timezone.now()
    last = AnalyticsRun.objects.order_by("-started_at", "-pk").first()
    last_full = AnalyticsRun.objects.filter(kind="full").order_by("-started_at", "-pk").first()
    if last is not None and last.status == "running" and now - last.started_at < timedelta(hours=2):
        return None
    local = timezone.localtime(now)
    nightly = local.replace(
        hour=getattr(settings, "ANALYTICS_NIGHTLY_HOUR", 2), minute=0, second=0, microsecond=0
    )
    if local < nightly:
        nightly -= timedelta(days=1)
    if last_full is None or last_full.started_at < nightly:
        return "full"
    every = timedelta(minutes=getattr(settings, "ANALYTICS_INCREMENTAL_MINUTES", 15))
    if last is None or now - last.started_at >= every:
        return "incremental"
    return None


def tick() -> int:
    """Enqueue the recomputes that are due, for every workspace; how many were enqueued."""
    from kehu.workspaces.models import Workspace

    count = 0
    with scopes_disabled():
        workspaces = list(Workspace.objects.order_by("pk"))
    for workspace in workspaces:
        with scope(workspace=workspace):
            kind = due()
        if kind:
            recompute.enqueue(workspace.pk, kind, timezone.now().isoformat())
            count += 1
    return count
