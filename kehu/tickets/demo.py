"""Demo tickets: ~40 Chinese and English tickets over the last six weeks on every channel and in every
status, with conversations (customer messages, public replies, internal notes), complaints with
severity, root cause, compensation and outcome, one attachment, the workspace's ticket categories and
two routing rules — so the queue, the ticket page, the complaint report and the 360° panel show data.

Every write goes through the services. To give the tickets a believable history (opened days ago,
SLA due dates from then, replies hours later), each step runs with ``timezone.now`` pointed at its
moment (``_at``); the demo is seeded by one command in one thread, never while serving requests.
"""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from kehu.customers.models import Contact
from kehu.workspaces.models import Membership, Team, Workspace
from kehu.workspaces.services import actor_for, create_team

from . import services
from .models import Ticket

CATEGORIES = ("技术支持", "账单与发票", "物流配送", "退换货", "产品质量", "账户与登录")
# (subject, description, category, type, priority, channel, language)
REQUESTS = (
    (
        "打印机驱动安装失败",
        "按照说明书安装驱动，提示“找不到设备”。系统是 Windows 11。",
        "技术支持",
        "incident",
        "high",
        "email",
        "zh-hans",
    ),
    (
        "发票抬头开错了",
        "上月的增值税专用发票抬头写成了旧公司名，请重开。",
        "账单与发票",
        "request",
        "normal",
        "email",
        "zh-hans",
    ),
    (
        "订单迟迟未发货",
        "下单已经五天了，物流信息一直没有更新。",
        "物流配送",
        "complaint",
        "high",
        "phone",
        "zh-hans",
    ),
    (
        "如何导出月度报表？",
        "想把每个月的销售数据导出成 Excel，在哪里操作？",
        "技术支持",
        "inquiry",
        "low",
        "web",
        "zh-hans",
    ),
    (
        "收到的货物外包装破损",
        "箱子被压坏，里面两台设备外壳有裂痕，附照片。",
        "产品质量",
        "complaint",
        "urgent",
        "wechat",
        "zh-hans",
    ),
    (
        "申请退货",
        "买错型号了，未拆封，想申请七天无理由退货。",
        "退换货",
        "request",
        "normal",
        "chat",
        "zh-hans",
    ),
    ("无法登录账户", "重置密码的邮件一直收不到。", "账户与登录", "incident", "high", "email", "zh-hans"),
    (
        "Invoice copy for Q3",
        "Could you send us a copy of the Q3 invoices for our auditors?",
        "账单与发票",
        "request",
        "normal",
        "email",
        "en",
    ),
    (
        "Device keeps rebooting",
        "Since the last firmware update the unit restarts every few hours.",
        "技术支持",
        "incident",
        "urgent",
        "email",
        "en",
    ),
    (
        "Delivery to wrong address",
        "The shipment went to our old warehouse in Suzhou.",
        "物流配送",
        "complaint",
        "high",
        "phone",
        "en",
    ),
    (
        "Question about warranty",
        "Is the extended warranty transferable to a subsidiary?",
        "产品质量",
        "inquiry",
        "low",
        "web",
        "en",
    ),
    (
        "客服态度不好",
        "昨天打电话咨询，客服很不耐烦，问题也没解决。",
        "",
        "complaint",
        "normal",
        "phone",
        "zh-hans",
    ),
    (
        "扣款金额和报价不符",
        "合同价是 12,800 元，实际扣款 13,600 元。",
        "账单与发票",
        "complaint",
        "high",
        "email",
        "zh-hans",
    ),
    (
        "需要上门安装",
        "新买的设备需要安排工程师上门安装调试。",
        "技术支持",
        "request",
        "normal",
        "phone",
        "zh-hans",
    ),
    (
        "Bulk order discount?",
        "We plan to order 200 units next quarter; what discount applies?",
        "",
        "inquiry",
        "normal",
        "api",
        "en",
    ),
)
REPLIES = (
    "您好，已收到您的问题，我们正在处理，预计今天内给您答复。",
    "请您提供一下订单号和设备序列号，方便我们核实。",
    "已为您重新安排发货，新的物流单号会通过短信发送。",
    "问题已解决，如还有疑问请随时联系我们。",
    "Thanks for reaching out — we are looking into it and will update you shortly.",
    "We have fixed the issue on our side; please try again and let us know.",
)
CUSTOMER_FOLLOW_UPS = (
    "好的，谢谢！",
    "订单号是 SO-000123。",
    "还是不行，能否电话联系我？",
    "Thanks, that works now.",
)
NOTES = (
    "已联系仓库确认库存。",
    "客户是重点客户，优先处理。",
    "Escalated to the firmware team (ticket FW-88).",
)
COMPLAINT_DETAILS = {
    # subject -> (severity, root_cause, compensation amount, compensation, outcome)
    "订单迟迟未发货": ("moderate", "delivery", "50", "运费全免 + 50 元优惠券", "upheld"),
    "收到的货物外包装破损": ("major", "product_defect", "1200", "免费更换两台设备", "upheld"),
    "Delivery to wrong address": (
        "moderate",
        "delivery",
        "300",
        "Express re-delivery at our cost",
        "partially_upheld",
    ),
    "客服态度不好": ("minor", "service", None, "致歉并回访", "upheld"),
    "扣款金额和报价不符": ("major", "billing", "800", "退还差额 800 元", "upheld"),
}


@contextmanager
def _at(moment):
    """Run services as if it were ``moment`` (see the module docstring)."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


def seed(slug: str, seed_value: int, count: int = 40) -> None:
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        memberships = Membership.objects.select_related("user", "role").order_by("user_id")
        owner = next(m.user for m in memberships if m.role.key == "owner")
        boss = actor_for(owner, workspace)
        agents = [m.user for m in memberships if m.role.key in ("service", "manager")] or [owner]
        system = services.system_actor(workspace, "demo")
        for position, name in enumerate(CATEGORIES):
            services.create_category(boss, name=name, position=position)
        # The service desk's queue: the service agents and the manager.
        team = Team.objects.filter(name="客服一线").first() or create_team(
            boss, "客服一线", [u.pk for u in agents if u != owner]
        )
        services.create_rule(
            boss,
            name="投诉 → 客服主管",
            position=1,
            conditions={"keywords": ["投诉", "态度", "破损"]},
            user_id=agents[0].pk,
            assignment="user",
        )
        if team is not None:
            services.create_rule(
                boss,
                name="邮件与网页 → 一线队列",
                position=2,
                conditions={"channel": ["email", "web"]},
                team_id=team.pk,
                assignment="least_loaded",
            )
        contacts = list(
            Contact.objects.filter(account__isnull=False)
            .exclude(email="")
            .select_related("account")
            .order_by("id")[:60]
        )
        from kehu.commerce.models import Product

        products = list(Product.objects.order_by("id")[:6])
        now = timezone.now()
        attached = False
        for i in range(count):
            subject, description, category, kind, priority, channel, language = REQUESTS[i % len(REQUESTS)]
            recent = i % 5 < 2  # two in five from the last day and a half: the open queue
            opened = now - timedelta(
                hours=rng.randint(1, 36 if recent else 24 * 42), minutes=rng.randint(0, 59)
            )
            contact = contacts[i % len(contacts)] if contacts and rng.random() < 0.85 else None
            extra = {}
            if kind == "complaint" and subject in COMPLAINT_DETAILS:
                severity, cause, amount, compensation, _outcome = COMPLAINT_DETAILS[subject]
                extra = {
                    "severity": severity,
                    "root_cause": cause,
                    "compensation_amount": amount,
                    "compensation": compensation,
                }
                if products:
                    extra["product_id"] = rng.choice(products).pk
            attachments = ()
            if not attached and subject == "收到的货物外包装破损":
                attachments = [
                    {
                        "name": "破损照片.txt",
                        "content": "（演示附件）外箱压痕照片说明。".encode(),
                        "content_type": "text/plain",
                    }
                ]
                attached = True
            with _at(opened):
                ticket = services.open_ticket(
                    system if channel in ("email", "web", "api") else boss,
                    subject=subject,
                    description=description,
                    channel=channel,
                    type=kind,
                    priority=priority,
                    category=category,
                    language=language,
                    contact=contact,
                    sender_email="" if contact else f"guest{i}@example.com",
                    sender_name="" if contact else "访客",
                    attachments=attachments,
                    **extra,
                )
            if ticket.owner_id is None:
                with _at(opened + timedelta(minutes=5)):
                    services.assign(boss, ticket, user=rng.choice(agents), team=ticket.team_id)
            agent = actor_for(ticket.owner, workspace) or boss
            if not agent.can("change", Ticket.object_type):
                agent = boss  # assigned by hand to someone who may only read service tickets
            moment = opened + timedelta(minutes=rng.randint(20, 600))
            age = now - opened
            if moment >= now:
                continue  # still new: nobody answered yet
            if rng.random() < 0.3:
                with _at(moment):
                    services.reply(agent, ticket, body=rng.choice(NOTES), public=False)
                moment += timedelta(minutes=rng.randint(5, 60))
            with _at(moment):
                services.reply(agent, ticket, body=rng.choice(REPLIES))
            roll = rng.random()
            if roll < 0.25:
                with _at(moment + timedelta(minutes=30)):
                    services.change_status(agent, ticket, "pending")
                answered = moment + timedelta(hours=rng.randint(1, 20))
                if roll < 0.12 and answered < now:
                    with _at(answered):
                        services.add_customer_message(system, ticket, body=rng.choice(CUSTOMER_FOLLOW_UPS))
            elif roll < 0.32:
                with _at(moment + timedelta(minutes=10)):
                    services.change_status(agent, ticket, "on_hold")
            elif age > timedelta(days=2):
                resolved = moment + timedelta(hours=rng.randint(1, 30))
                if resolved < now:
                    with _at(resolved):
                        if ticket.type == "complaint" and subject in COMPLAINT_DETAILS:
                            services.update_ticket(agent, ticket, outcome=COMPLAINT_DETAILS[subject][4])
                        services.change_status(agent, ticket, "resolved")
                        if rng.random() < 0.7:
                            services.update_ticket(system, ticket, satisfaction=rng.choice((3, 4, 5, 5, 5)))
                    if resolved + timedelta(days=7) < now:
                        with _at(resolved + timedelta(days=7)):
                            services.change_status(system, ticket, "closed")
    return None
