"""The scheduled email of a dashboard: each recipient gets the tiles as tables, computed as them.

Every recipient's numbers are their own (their ``Actor``, their record permissions) — a shared
dashboard never mails one member's view to another. Charts go as tables: the email has no script
to draw the SVG and many mail programs do not show inline SVG.
"""

from datetime import datetime, time, timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.core.errors import DomainError
from kehu.forecast.periods import workspace_tz
from kehu.workspaces.services import actor_for

from . import services
from .models import Dashboard
from .tiles import SPECIAL_TILES, last_twelve_months, tile_title

SEND_HOUR = 7  # local time of the workspace: the email is there before the working day


def _tile_sections(actor, dashboard: Dashboard, start, end) -> list[dict]:
    sections = []
    for tile in services.tiles_of(dashboard):
        section = {"title": tile_title(tile)}
        if tile.report_id:
            try:
                report = services.get_report(actor, tile.report_id)
                section["result"] = services.run_report(actor, report, start=start, end=end)
            except DomainError:
                section["problem"] = _("This report is not shared with you.")
        else:
            special = SPECIAL_TILES.get(tile.kind)
            if special is None:
                continue
            data = special.render(actor, start, end)
            section["special_html"] = (
                render_to_string(special.template, {"data": data}) if data is not None else ""
            )
        sections.append(section)
    return sections


def send_dashboard(dashboard: Dashboard) -> int:
    """Mail the dashboard (last 12 months) to its recipients; how many emails were sent."""
    workspace = dashboard.workspace
    start, end = last_twelve_months(workspace)
    sent = 0
    for user in dashboard.recipients.filter(is_active=True).order_by("pk"):
        actor = actor_for(user, workspace)
        if actor is None:
            continue
        try:
            services.get_dashboard(actor, dashboard.pk)
        except DomainError:
            continue  # no longer shared with this member: they get nothing
        with translation.override(user.language or workspace.default_language or None):
            context = {
                "dashboard": dashboard,
                "sections": _tile_sections(actor, dashboard, start, end),
                "start": start,
                "end": end,
                "user": user,
            }
            subject = _("Dashboard: %(name)s") % {"name": dashboard.name}
            html = render_to_string("reports/email/dashboard.html", context)
            text = render_to_string("reports/email/dashboard.txt", context)
        message = EmailMultiAlternatives(subject[:200], text, None, [user.email])
        message.attach_alternative(html, "text/html")
        message.send()
        sent += 1
    return sent


def is_due(dashboard: Dashboard, now: datetime) -> bool:
    """Daily: once a day after 07:00 local; weekly: once a week, from Monday 07:00 local."""
    if not dashboard.schedule:
        return False
    tz = workspace_tz(dashboard.workspace)
    local = now.astimezone(tz)
    if local.hour < SEND_HOUR:
        return False
    day = local.date()
    if dashboard.schedule == Dashboard.Schedule.WEEKLY:
        day -= timedelta(days=day.weekday())
    since = datetime.combine(day, time(SEND_HOUR), tzinfo=tz)
    return dashboard.last_sent_at is None or dashboard.last_sent_at < since


def send_due(workspace, dashboard_id: int) -> int:
    """Send one dashboard if it is (still) due, and stamp it — a second job finds it sent."""
    now = timezone.now()
    with transaction.atomic():
        dashboard = Dashboard.objects.select_for_update().filter(pk=dashboard_id).first()
        if dashboard is None or not is_due(dashboard, now):
            return 0
        Dashboard.objects.filter(pk=dashboard.pk).update(last_sent_at=now)
    return send_dashboard(dashboard)
