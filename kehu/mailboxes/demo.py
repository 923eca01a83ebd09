"""Demo mailbox: the support address (webhook-only, so the demo polls no real server), two mails
taken in through the same path as real ones (one becomes a ticket, one auto-reply is ignored), and a
queued reply mail (the demo's worker prints it: the demo sends to the console)."""

from email.header import Header
from email.utils import format_datetime

from django.utils import timezone
from django_scopes import scope

from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services


def _mail(subject: str, body: str, message_id: str, extra: str = "") -> bytes:
    return (
        f"From: {Header('王芳', 'utf-8').encode()} <wang.fang@demo-customer.example>\r\n"
        "To: support@kehu-demo.example\r\n"
        f"Subject: {Header(subject, 'gbk').encode()}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: <{message_id}>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=gbk\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body.encode("gbk")


def seed(slug: str) -> None:
    from kehu.tickets import services as tickets

    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.filter(role__key="owner").select_related("user").first()
        # A service agent sees every ticket (a manager only their teams').
        agent = (
            Membership.objects.filter(role__key="service", is_active=True)
            .select_related("user")
            .order_by("id")
            .first()
            or owner
        )
        mailbox = services.create_mailbox(
            actor_for(owner.user, workspace),
            name="客户服务",
            address="support@kehu-demo.example",
            default_category="",
        )
        taken = services.ingest(
            workspace,
            _mail(
                "发票抬头需要更正",
                "您好，订单发票的抬头写错了，应为“华东贸易有限公司”。谢谢！",
                "demo-mail-1@demo-customer.example",
            ),
            mailbox=mailbox,
        )
        services.ingest(
            workspace,
            _mail(
                "自动回复: 发票抬头需要更正",
                "我正在休假，11月30日回来。",
                "demo-mail-2@demo-customer.example",
                "Auto-Submitted: auto-replied\r\n",
            ),
            mailbox=mailbox,
        )
        if taken.ticket is not None:
            entry = tickets.reply(
                actor_for(agent.user, workspace),
                taken.ticket,
                body="您好，已为您更正发票抬头，新发票将在两个工作日内寄出。",
            )
            services.queue_reply(entry)  # the signal does it after commit; the row is wanted now
