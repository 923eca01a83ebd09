"""Scheduled dashboard emails: due times, one email per recipient with their own numbers, idempotence."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core import mail
from django.utils import timezone

from kehu.reports import mail as report_mail
from kehu.reports import schedule, services
from kehu.reports.models import Dashboard, Sharing

SH = ZoneInfo("Asia/Shanghai")


def _dashboard(t, schedule_kind="daily"):
    for key in ("owner", "sales"):
        t.users[key].language = "en"  # the email is in the recipient's language
        t.users[key].save(update_fields=["language"])
    with t.scope():
        report = services.create_report(
            t.actors["owner"],
            name="Orders by status",
            object_type="commerce.order",
            sharing=Sharing.WORKSPACE,
            definition={"group_by": [{"field": "status"}], "date_field": ""},
        )
        dashboard = services.create_dashboard(
            t.actors["owner"],
            name="Weekly board",
            sharing=Sharing.WORKSPACE,
            schedule=schedule_kind,
            recipient_ids=[t.users["owner"].pk, t.users["sales"].pk],
        )
        services.add_tile(t.actors["owner"], dashboard, report_id=report.pk)
        services.add_tile(t.actors["owner"], dashboard, kind="rfm_grid")
    return dashboard


def test_each_recipient_gets_their_own_numbers(data):
    dashboard = _dashboard(data.tenant)
    with data.tenant.scope():
        assert report_mail.send_dashboard(dashboard) == 2
    assert len(mail.outbox) == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    owner = by_to[data.tenant.users["owner"].email]
    sales = by_to[data.tenant.users["sales"].email]
    assert owner.subject == "Dashboard: Weekly board"
    html_owner = owner.alternatives[0][0]
    html_sales = sales.alternatives[0][0]
    assert "Orders by status" in html_owner and "<table" in html_owner
    assert "RFM grid" in html_owner  # a special tile without a title of its own is named by its kind
    # owner sees 3 paid orders, the sales rep only their own 2 paid + 1 confirmed.
    assert '<td>Paid</td><td align="right">3</td>' in html_owner
    assert '<td>Paid</td><td align="right">2</td>' in html_sales
    assert "<td>Cancelled</td>" not in html_sales
    assert "- Paid: 3" in owner.body


def test_due_times_daily_and_weekly(data):
    dashboard = _dashboard(data.tenant)
    dashboard.workspace.time_zone = "Asia/Shanghai"
    at = lambda *a: datetime(*a, tzinfo=SH)  # noqa: E731
    assert not report_mail.is_due(dashboard, at(2026, 3, 4, 6, 59))
    assert report_mail.is_due(dashboard, at(2026, 3, 4, 7, 0))
    dashboard.last_sent_at = at(2026, 3, 4, 7, 1)
    assert not report_mail.is_due(dashboard, at(2026, 3, 4, 23, 0))
    assert report_mail.is_due(dashboard, at(2026, 3, 5, 7, 0))
    dashboard.schedule = Dashboard.Schedule.WEEKLY
    assert not report_mail.is_due(dashboard, at(2026, 3, 6, 9, 0))  # sent Wednesday, this week
    assert report_mail.is_due(dashboard, at(2026, 3, 9, 7, 0))  # next Monday
    dashboard.schedule = ""
    assert not report_mail.is_due(dashboard, at(2026, 3, 9, 7, 0))


def test_tick_enqueues_and_the_job_sends_once(data, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    dashboard = _dashboard(data.tenant)
    now = timezone.now().astimezone(SH)
    if now.hour < report_mail.SEND_HOUR:
        return  # before 07:00 in Shanghai nothing is due; the due-time test covers the rule
    assert schedule.tick() == 1
    assert len(mail.outbox) == 2
    assert schedule.tick() == 0
    with data.tenant.scope():
        dashboard.refresh_from_db()
        assert dashboard.last_sent_at is not None
        assert report_mail.send_due(data.tenant.workspace, dashboard.pk) == 0
    assert len(mail.outbox) == 2


def test_a_recipient_who_lost_access_gets_nothing(data):
    dashboard = _dashboard(data.tenant)
    with data.tenant.scope():
        services.update_dashboard(data.tenant.actors["owner"], dashboard, sharing=Sharing.PRIVATE)
        assert report_mail.send_dashboard(dashboard) == 1
    assert [m.to[0] for m in mail.outbox] == [data.tenant.users["owner"].email]
