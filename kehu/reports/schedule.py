"""The periodic part of reports, called by ``kehu scheduler`` once a minute.

One indexed query lists the dashboards with an email schedule (few rows: the ``schedule`` index);
only the due ones get a job, so an idle tick costs one query.
"""

from django.utils import timezone
from django_scopes import scopes_disabled

from .engine import fold_all
from .mail import is_due
from .models import Dashboard
from .tasks import send_dashboard_email


def tick() -> int:
    """Enqueue the email job of each dashboard due; how many were enqueued. Also keeps the tile
    cache's change log short (``engine.fold_all``)."""
    fold_all()
    now = timezone.now()
    with scopes_disabled():
        scheduled = list(Dashboard.objects.exclude(schedule="").select_related("workspace"))
    count = 0
    for dashboard in scheduled:
        if is_due(dashboard, now):
            send_dashboard_email.enqueue(dashboard.workspace_id, dashboard.pk)
            count += 1
    return count
