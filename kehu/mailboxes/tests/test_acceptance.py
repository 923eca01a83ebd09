"""Issue 6 acceptance, the mail path end to end on real servers (Dovecot in, aiosmtpd out):

an email arrives → a ticket matched to the contact and routed → answered (the customer receives the
reply through the local SMTP server) → "pending" pauses the SLA clock, the customer's answer resumes it
→ resolved → the CSAT invitation arrives by mail (``csat_hook``; rating it and the 360° view are the
surveys part's own tests).

Times are Shanghai wall-clock on a Mon–Fri 09:00–18:00 calendar; the expected due dates are computed
by hand in the comments.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kehu.mailboxes import services
from kehu.mailboxes.models import Mailbox
from kehu.tickets import services as tickets
from kehu.tickets.models import RoutingRule, Ticket

from .mails import mime_mail

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


class Clock:
    """``timezone.now()`` under the test's control (a past Monday: Dovecot's real dates come later,
    so the first poll's SINCE search still finds the mail)."""

    def __init__(self, monkeypatch):
        self.now = at(23, 10)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, day: int, hour: int, minute: int = 0) -> None:
        self.now = at(day, hour, minute)


@pytest.fixture
def service_desk(tenant):
    """A business calendar, an SLA policy, a support queue with a round-robin rule for email."""
    from kehu.sla.models import BusinessCalendar, SlaPolicy
    from kehu.workspaces.models import Team

    day = [["09:00", "18:00"]]
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    with tenant.scope():
        calendar = BusinessCalendar.objects.create(
            workspace=tenant.workspace,
            name="Office",
            time_zone="Asia/Shanghai",
            is_default=True,
            weekly_hours={d: (day if i < 5 else []) for i, d in enumerate(days)},
        )
        SlaPolicy.objects.create(
            workspace=tenant.workspace,
            name="Standard",
            position=10,
            conditions={},
            first_response_minutes=240,
            resolution_minutes=600,
            calendar=calendar,
        )
        team = Team.objects.create(workspace=tenant.workspace, name="一线客服")
        team.members.set([tenant.users["service"]])
        tickets.create_rule(
            tenant.actors["owner"],
            name="Email to first line",
            conditions={"channel": ["email"]},
            team_id=team.pk,
            assignment=RoutingRule.Assignment.ROUND_ROBIN,
        )
    return team


def csat_hook(tenant, ticket, smtp, customer_email: str) -> None:
    """The CSAT invitation for the resolved ticket arrives through the local SMTP server.

    Hook point for the surveys part: its own tests rate through the link and check the 360° view; when
    ``kehu.surveys`` is not installed this step is skipped rather than faked.
    """
    from django.apps import apps

    if not apps.is_installed("kehu.surveys"):
        return
    invitations = [
        m
        for m in smtp.wait_for(3)
        if m["rcpt_tos"] == [customer_email] and m["message"]["X-Kehu-Ticket"] is None  # not a reply
    ]
    assert invitations, "no CSAT invitation reached the customer"
    assert "http" in invitations[0]["message"].get_body(("plain", "html")).get_content()


def test_email_to_resolved_with_sla_pause_and_resume(
    tenant,
    imap_server,
    mailbox,
    customer,
    smtp,
    immediate_tasks,
    service_desk,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    clock = Clock(monkeypatch)
    service = tenant.actors["service"]

    # Monday 10:00 — the mail arrives and is polled.
    imap_server.deliver(
        mailbox.imap_user,
        mime_mail(
            to=mailbox.address,
            message_id="<acc-1@customer.test>",
            attachment=("截图.png", "image/png", b"\x89PNG\r\n\x1a\nfake"),
        ),
    )
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        assert services.poll(Mailbox.objects.get(pk=mailbox.pk)).opened == 1
        ticket = Ticket.objects.get()
    assert ticket.contact_id == customer.pk and ticket.account_id == customer.account_id
    assert ticket.team_id == service_desk.pk and ticket.owner_id == tenant.users["service"].pk  # routed
    assert ticket.first_response_due_at == at(23, 14)  # 10:00 + 240 business minutes
    assert ticket.resolution_due_at == at(24, 11)  # 480 on Monday (10–18), 120 more from Tue 09:00

    # Monday 11:00 — the agent answers and waits for the customer: the SLA clock stops.
    clock.set(23, 11)
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        reply = tickets.reply(service, ticket, body="请提供正确的发票抬头。", status="pending")
    [sent] = smtp.wait_for(1)
    assert sent["rcpt_tos"] == ["zhang.wei@customer.test"]
    assert sent["message"]["Subject"] == f"Re: 订单 1234 的发票问题 [#{ticket.number}]"
    assert sent["message"]["In-Reply-To"] == "<acc-1@customer.test>"
    with tenant.scope():
        ticket.refresh_from_db()
        reply.refresh_from_db()
    assert (ticket.status, ticket.first_responded_at, ticket.sla_paused_at) == (
        "pending",
        at(23, 11),
        at(23, 11),
    )
    assert ticket.sla_state(at(23, 12)) == "paused"

    # Monday 15:00 — the customer answers the reply: the ticket reopens and the clock resumes.
    clock.set(23, 15)
    imap_server.deliver(
        mailbox.imap_user,
        mime_mail(
            to=mailbox.address,
            subject="Re: 订单 1234 的发票问题",
            body="抬头是：华东贸易有限公司",
            in_reply_to=f"<{reply.message_id}>",
            references=f"<acc-1@customer.test> <{reply.message_id}>",
        ),
    )
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        assert services.poll(Mailbox.objects.get(pk=mailbox.pk)).added == 1
        ticket.refresh_from_db()
    assert (ticket.status, ticket.sla_paused_at, ticket.sla_paused_minutes) == ("open", None, 240)
    assert ticket.resolution_due_at == at(24, 15)  # Tue 11:00 moved by the 240 paused minutes

    # The API shows the same ticket and its thread (customer, reply, customer).
    api = tenant.api_client("service")
    detail = api.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["status"] == "open" and detail["contact_id"] == customer.pk
    entries = api.get(f"/api/v1/tickets/{ticket.pk}/entries").json()
    items = entries["items"] if isinstance(entries, dict) else entries
    assert [e["kind"] for e in items] == ["customer", "reply", "customer"]

    # Monday 16:00 — resolved within the SLA; the CSAT invitation goes out.
    clock.set(23, 16)
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        tickets.reply(service, ticket, body="已更正，新发票已寄出。", status="resolved")
        ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at == at(23, 16)
    assert ticket.sla_state(at(23, 16)) == "met"
    replies = [m for m in smtp.wait_for(2) if m["message"]["X-Kehu-Ticket"] == str(ticket.number)]
    assert len(replies) == 2
    csat_hook(tenant, ticket, smtp, "zhang.wei@customer.test")
