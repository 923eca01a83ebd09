"""The demo data that ``kehu demo`` seeds: a realistic Chinese/English CRM workspace, and a second one.

Workspace "示例科技 (Demo)" (``demo``): one user per role plus a second sales rep, two teams,
40 accounts (Chinese and English companies, a few individuals) and 120 contacts with E.164 phones.
Workspace "Globex Demo" (``globex-demo``): a small English one the demo owner and sales rep also
belong to, so the workspace switcher has two entries.

Everything goes through the services (``create_workspace``, ``add_member``, ``create_team``,
``create_account``, ``create_contact``), acting as the record's owner: the audit trail shows the
seed like any other work, and the data is normalised the same way. That costs about a second for
the ~200 rows; bulk inserts would skip the audit and normalisation for no real gain at this size.
The content is deterministic (a seeded ``random.Random``); running it again changes nothing.
"""

import random
from dataclasses import dataclass

from django.db import transaction
from django_scopes import scope

DEMO_PASSWORD = "kehu-demo-2026"
DEMO_SLUG = "demo"
GLOBEX_SLUG = "globex-demo"
SEED = 2026


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    team: str = ""


DEMO_USERS = [
    DemoUser("owner@demo.kehu", "王建国", "owner"),
    DemoUser("admin@demo.kehu", "李静", "admin"),
    DemoUser("manager@demo.kehu", "陈晓明", "manager", "both"),
    DemoUser("sales@demo.kehu", "张伟", "sales", "east"),
    DemoUser("sales2@demo.kehu", "James Miller", "sales", "key"),
    DemoUser("marketing@demo.kehu", "Emily Chen", "marketing"),
    DemoUser("service@demo.kehu", "刘洋", "service"),
    DemoUser("readonly@demo.kehu", "Oliver Smith", "readonly"),
]
TEAM_EAST, TEAM_KEY = "华东销售", "Key accounts"
# (email, role) in Globex Demo.
GLOBEX_MEMBERS = [("owner@demo.kehu", "owner"), ("sales@demo.kehu", "sales")]

# name, industry, city, web domain, landline (E.164)
CHINESE_COMPANIES = [
    ("上海明远贸易有限公司", "贸易", "上海", "mingyuan-trade.com.cn", "+862161234567"),
    ("深圳云帆科技有限公司", "软件", "深圳", "yunfan-tech.cn", "+8675583456789"),
    ("北京华信咨询有限公司", "咨询", "北京", "huaxin-consulting.cn", "+861062345678"),
    ("杭州青禾电子商务有限公司", "电子商务", "杭州", "qinghe-ec.com", "+8657188123456"),
    ("广州恒达物流有限公司", "物流", "广州", "hengda-logistics.cn", "+862087654321"),
    ("南京金陵智能制造有限公司", "制造", "南京", "jinling-im.com.cn", "+862585432109"),
    ("成都天府软件园服务有限公司", "软件", "成都", "tianfu-soft.cn", "+862886543210"),
    ("苏州吴中精密机械有限公司", "制造", "苏州", "wuzhong-precision.com", "+8651267891234"),
    ("武汉光谷生物科技有限公司", "生物医药", "武汉", "guanggu-bio.cn", "+862787654321"),
    ("上海浦江医疗器械有限公司", "医疗器械", "上海", "pujiang-med.com.cn", "+862162345678"),
    ("北京星辰教育科技有限公司", "教育", "北京", "xingchen-edu.cn", "+861085123456"),
    ("深圳鹏城新能源有限公司", "新能源", "深圳", "pengcheng-energy.com", "+8675586123456"),
    ("杭州西湖茶业有限公司", "食品饮料", "杭州", "xihu-tea.cn", "+8657187654321"),
    ("广州南粤餐饮管理有限公司", "餐饮", "广州", "nanyue-dining.cn", "+862083456789"),
    ("上海东方数据服务有限公司", "信息服务", "上海", "dongfang-data.cn", "+862163456789"),
    ("北京京华建设工程有限公司", "建筑", "北京", "jinghua-build.com.cn", "+861065432198"),
    ("南京紫金软件有限公司", "软件", "南京", "zijin-soft.cn", "+862584567890"),
    ("苏州工业园区创新孵化器", "服务", "苏州", "sip-incubator.cn", "+8651262345678"),
    ("成都蓉城文化传媒有限公司", "传媒", "成都", "rongcheng-media.cn", "+862885678901"),
    ("深圳前海金融科技有限公司", "金融", "深圳", "qianhai-fintech.cn", "+8675581234567"),
    ("上海申通汽车配件有限公司", "汽车", "上海", "shentong-auto.com.cn", "+862164567890"),
    ("武汉长江航运有限公司", "航运", "武汉", "changjiang-shipping.cn", "+862782345678"),
    ("北京中关村云计算有限公司", "云计算", "北京", "zgc-cloud.cn", "+861082345678"),
    ("杭州钱塘家居用品有限公司", "零售", "杭州", "qiantang-home.cn", "+8657186543210"),
    ("广州珠江化工有限公司", "化工", "广州", "zhujiang-chem.com.cn", "+862084567890"),
    ("上海黄浦国际会展有限公司", "会展", "上海", "huangpu-expo.cn", "+862165678901"),
]
ENGLISH_COMPANIES = [
    ("Northwind Traders", "Wholesale", "Seattle", "northwind.example", "+12065550123"),
    ("Contoso Ltd", "Software", "Redmond", "contoso.example", "+14255550147"),
    ("Fabrikam Inc.", "Manufacturing", "Chicago", "fabrikam.example", "+13125550188"),
    ("Adventure Works Cycles", "Retail", "Bothell", "adventure-works.example", "+14255550162"),
    ("Tailspin Toys", "Consumer goods", "Portland", "tailspintoys.example", "+15035550119"),
    ("Wide World Importers", "Logistics", "San Francisco", "wideworldimporters.example", "+14155550142"),
    ("Litware Inc.", "Software", "Boston", "litware.example", "+16175550133"),
    ("Proseware Ltd", "Consulting", "London", "proseware.example", "+442079460123"),
    ("Lamna Healthcare", "Healthcare", "Singapore", "lamna.example", "+6565501234"),
]
# Individual customers (B2C): name, city, personal email, mobile.
INDIVIDUALS = [
    ("周婷", "上海", "zhouting88@qq.com", "+8613812345678"),
    ("吴磊", "北京", "wulei_bj@163.com", "+8613912345678"),
    ("郑雪", "深圳", "zhengxue@126.com", "+8618612345678"),
    ("Sarah Johnson", "New York", "sarah.johnson@gmail.example", "+12125550171"),
    ("黄凯", "杭州", "huangkai@foxmail.com", "+8615012345678"),
]

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
            ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
            ("马", "ma"), ("罗", "luo"), ("欧阳", "ouyang"), ("司马", "sima")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
         ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
         ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
         ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"),
         ("晓东", "xiaodong"), ("佳怡", "jiayi"), ("子涵", "zihan"), ("浩然", "haoran"), ("思远", "siyuan")]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Emma",
         "William", "Olivia", "Daniel", "Sophia", "Thomas", "Grace", "Henry", "Chloe", "Lucas", "Amelia"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
        "Anderson", "Thomas", "Moore", "Martin", "Clark", "Lewis", "Walker", "Young", "King", "Wright"]
TITLES_ZH = ["总经理", "采购经理", "财务总监", "销售总监", "IT 主管", "行政主管", "运营经理", "市场经理",
             "技术总监", "董事长助理", "采购专员", "项目经理"]
TITLES_EN = ["CEO", "Procurement Manager", "CFO", "Head of IT", "Operations Director", "Marketing Manager",
             "Office Manager", "VP Sales", "Purchasing Agent", "Project Manager"]

CONTACT_TARGET = 120

GLOBEX_COMPANIES = [
    ("Initech", "Software", "Austin", "initech.example", "+15125550110"),
    ("Umbrella Logistics", "Logistics", "Denver", "umbrella-logistics.example", "+13035550125"),
    ("Stark Components", "Manufacturing", "Detroit", "stark-components.example", "+13135550139"),
    ("Wayne Shipping", "Shipping", "Newark", "wayne-shipping.example", "+19735550156"),
    ("Acme Anvils", "Hardware", "Phoenix", "acme-anvils.example", "+16025550171"),
]


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(email, password, role, workspaces) for the login table ``kehu demo`` prints."""
    globex = dict(GLOBEX_MEMBERS)
    rows = []
    for user in DEMO_USERS:
        spaces = DEMO_SLUG + (f", {GLOBEX_SLUG} ({globex[user.email]})" if user.email in globex else "")
        rows.append((user.email, DEMO_PASSWORD, user.role, spaces))
    return rows


def is_seeded() -> bool:
    from kehu.workspaces.models import Workspace

    return Workspace.objects.filter(slug=DEMO_SLUG).exists()


@transaction.atomic
def seed() -> bool:
    """Create the demo workspaces unless they exist. True when something was created."""
    from kehu.analytics.demo import seed as seed_analytics
    from kehu.bot.demo import seed as seed_bot
    from kehu.deals.demo import seed as seed_deals
    from kehu.forecast.demo import seed as seed_forecast
    from kehu.knowledge.demo import seed as seed_knowledge
    from kehu.leads.demo import seed as seed_leads
    from kehu.mailboxes.demo import seed as seed_mailboxes
    from kehu.predictions.demo import seed as seed_predictions
    from kehu.quotes.demo import seed as seed_quotes
    from kehu.reports.demo import seed as seed_reports
    from kehu.scoring.demo import seed as seed_scoring
    from kehu.sla.demo import seed as seed_sla
    from kehu.surveys.demo import seed as seed_surveys
    from kehu.tickets.demo import seed as seed_tickets
    from kehu.workspaces.models import Workspace

    if Workspace.objects.filter(slug__in=[DEMO_SLUG, GLOBEX_SLUG]).exists():
        return False
    rng = random.Random(SEED)  # noqa: S311 -- reproducible demo data, not secrets
    users = _users()
    _seed_demo(rng, users)
    _seed_globex(rng, users)
    seed_activities(users)
    seed_commerce(users)
    seed_deals(DEMO_SLUG, SEED + 3)
    seed_quotes(DEMO_SLUG, SEED + 5)
    seed_leads(DEMO_SLUG, SEED + 4)
    seed_scoring(DEMO_SLUG)
    seed_forecast(DEMO_SLUG, SEED + 6)
    seed_sla(DEMO_SLUG)  # before the tickets: their due dates come from these policies
    seed_knowledge(DEMO_SLUG)
    seed_tickets(DEMO_SLUG, SEED + 8)
    seed_bot(DEMO_SLUG)  # after the tickets: a handover opens one
    seed_mailboxes(DEMO_SLUG)  # after the tickets: a mail becomes one more, answered by mail
    seed_surveys(DEMO_SLUG, SEED + 9)  # after the tickets: CSAT on resolved ones, one NPS survey
    seed_predictions(DEMO_SLUG)  # after orders and tickets: CLV, churn risk, next best actions
    seed_analytics(DEMO_SLUG)  # after orders and tickets: scores, grades, lifecycle stages
    seed_reports(DEMO_SLUG)
    return True


def _users() -> dict:
    from kehu.users.models import User

    users = {}
    for spec in DEMO_USERS:
        user = User.objects.filter(email=spec.email).first()
        if user is None:
            user = User.objects.create_user(email=spec.email, password=DEMO_PASSWORD, name=spec.name,
                                            language="en" if spec.name.isascii() else "zh-hans")
        users[spec.email] = user
    return users


def _seed_demo(rng: random.Random, users: dict) -> None:
    from kehu.customers import services as customers
    from kehu.workspaces import services
    from kehu.workspaces.services import actor_for

    owner = users["owner@demo.kehu"]
    workspace = services.create_workspace(
        "示例科技 (Demo)", owner, slug=DEMO_SLUG, default_region="CN", base_currency="CNY",
        default_language="zh-hans", time_zone="Asia/Shanghai",
    )
    with scope(workspace=workspace):
        boss = actor_for(owner, workspace)
        for spec in DEMO_USERS:
            if spec.role != "owner":
                services.add_member(boss, users[spec.email], spec.role)
        east = services.create_team(boss, TEAM_EAST, member_ids=[
            users[s.email].pk for s in DEMO_USERS if s.team in {"east", "both"}
        ])
        key = services.create_team(boss, TEAM_KEY, member_ids=[
            users[s.email].pk for s in DEMO_USERS if s.team in {"key", "both"}
        ])
        # Who owns the customers: the two sales reps and the manager, each with a team.
        sellers = [
            (actor_for(users["sales@demo.kehu"], workspace), east),
            (actor_for(users["sales2@demo.kehu"], workspace), key),
            (actor_for(users["manager@demo.kehu"], workspace), None),
        ]

        def pick_owner():
            actor, team = rng.choice(sellers)
            return actor, (team or rng.choice([east, key]))

        companies = [(c, True) for c in CHINESE_COMPANIES] + [(c, False) for c in ENGLISH_COMPANIES]
        rng.shuffle(companies)
        accounts = []
        for (name, industry, city, domain, phone), chinese in companies:
            actor, team = pick_owner()
            account = customers.create_account(
                actor, name=name, kind="company", industry=industry, city=city, website=f"https://www.{domain}",
                phone=phone, email=f"info@{domain}", owner_id=actor.user.pk, team_id=team.pk,
                description=(f"{city}的{industry}企业，示例数据。" if chinese
                             else f"{industry} company in {city} (demo data)."),
            )
            accounts.append((account, actor, team, domain, chinese))
        for name, city, email, phone in INDIVIDUALS:
            actor, team = pick_owner()
            customers.create_account(
                actor, name=name, kind="individual", city=city, email=email, phone=phone,
                owner_id=actor.user.pk, team_id=team.pk,
            )

        used_emails: set[str] = set()
        plan = [rng.randint(2, 4) for _ in accounts]
        while sum(plan) > CONTACT_TARGET:
            index = rng.randrange(len(plan))
            plan[index] -= 1 if plan[index] > 1 else 0
        while sum(plan) < CONTACT_TARGET:
            plan[rng.randrange(len(plan))] += 1
        for (account, actor, team, domain, chinese), count in zip(accounts, plan, strict=True):
            for _ in range(count):
                name, local = _person(rng, chinese and rng.random() > 0.1)
                email = _unique(f"{local}@{domain}", used_emails)
                customers.create_contact(
                    actor, name=name, account_id=account.pk, email=email, phone=_mobile(rng, chinese),
                    job_title=rng.choice(TITLES_ZH if chinese else TITLES_EN),
                    owner_id=actor.user.pk, team_id=team.pk,
                )


def _seed_globex(rng: random.Random, users: dict) -> None:
    from kehu.customers import services as customers
    from kehu.workspaces import services
    from kehu.workspaces.services import actor_for

    owner = users["owner@demo.kehu"]
    workspace = services.create_workspace(
        "Globex Demo", owner, slug=GLOBEX_SLUG, default_region="US", base_currency="USD",
        default_language="en", time_zone="America/New_York",
    )
    with scope(workspace=workspace):
        boss = actor_for(owner, workspace)
        for email, role in GLOBEX_MEMBERS:
            if role != "owner":
                services.add_member(boss, users[email], role)
        rep = actor_for(users["sales@demo.kehu"], workspace)
        used: set[str] = set()
        for index, (name, industry, city, domain, phone) in enumerate(GLOBEX_COMPANIES):
            actor = rep if index % 2 == 0 else boss
            account = customers.create_account(
                actor, name=name, kind="company", industry=industry, city=city, website=f"https://www.{domain}",
                phone=phone, email=f"hello@{domain}", owner_id=actor.user.pk,
            )
            for _ in range(2):
                person, local = _person(rng, False)
                customers.create_contact(
                    actor, name=person, account_id=account.pk, email=_unique(f"{local}@{domain}", used),
                    phone=_mobile(rng, False), job_title=rng.choice(TITLES_EN), owner_id=actor.user.pk,
                )


def _person(rng: random.Random, chinese: bool) -> tuple[str, str]:
    """(display name, email local part)."""
    if chinese:
        (surname, s_py), (given, g_py) = rng.choice(SURNAMES), rng.choice(GIVEN)
        return surname + given, f"{g_py}.{s_py}" if rng.random() < 0.5 else f"{s_py}{g_py}"
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first}.{last}".lower()


def _unique(email: str, used: set[str]) -> str:
    local, domain = email.split("@")
    candidate, n = email, 1
    while candidate in used:
        n += 1
        candidate = f"{local}{n}@{domain}"
    used.add(candidate)
    return candidate


def _mobile(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return f"+86{rng.choice(['138', '139', '186', '150', '137', '189'])}{rng.randrange(10**8):08d}"
    # 555-01xx numbers are reserved for fiction in North America.
    return f"+1{rng.choice(['206', '415', '212', '617', '312'])}5550{rng.randrange(100, 200)}"


# (kind, direction, subject, notes, outcome, minutes)
DEMO_ACTIVITIES = [
    ("call", "outbound", "电话回访", "确认上季度订单的交付情况，客户整体满意。", "满意", 12),
    ("email", "outbound", "发送报价单", "按需求发送了标准版与企业版报价。", "等待回复", None),
    ("meeting", "internal", "需求沟通会", "梳理了采购流程和决策人。", "需提交方案", 60),
    ("visit", "outbound", "上门拜访", "拜访采购部，介绍新产品线。", "约定下次演示", 90),
    ("note", "internal", "客户背景记录", "预算在第三季度批复。", "", None),
    ("message", "inbound", "微信咨询", "客户询问发票开具时间。", "已答复", None),
    ("call", "inbound", "Follow-up call", "Asked about volume discounts for next year.", "Send pricing", 8),
]


def seed_activities(users: dict) -> None:
    """The demo workspace's timeline: ~5 interactions per company, a few tasks, a comment, one plan."""
    from datetime import timedelta

    from django.utils import timezone

    from kehu.activities import plans
    from kehu.activities import services as activities
    from kehu.customers.models import Account, Contact
    from kehu.workspaces.models import Workspace
    from kehu.workspaces.services import actor_for

    rng = random.Random(SEED + 1)  # noqa: S311 -- a stream of its own: the customer data stays as it was
    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    now = timezone.now().replace(second=0, microsecond=0)
    with scope(workspace=workspace):
        actors: dict = {}
        first_contact = {}
        for contact in Contact.objects.order_by("pk"):
            first_contact.setdefault(contact.account_id, contact.pk)
        for account in Account.objects.filter(kind="company").order_by("pk"):
            actor = actors.get(account.owner_id) or actors.setdefault(
                account.owner_id, actor_for(account.owner, workspace)
            )
            for index in range(5):
                kind, direction, subject, body, outcome, minutes = rng.choice(DEMO_ACTIVITIES)
                links = [("customers.account", account.pk)]
                if index % 2 and account.pk in first_contact:
                    links.append(("customers.contact", first_contact[account.pk]))
                activities.log_activity(
                    actor, links=links, kind=kind, direction=direction, subject=subject, body=body,
                    outcome=outcome, duration=minutes * 60 if minutes else None,
                    channel="wechat" if kind == "message" else "", team_id=account.team_id,
                    occurred_at=now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 9)),
                )
        sales = actor_for(users["sales@demo.kehu"], workspace)
        manager = actor_for(users["manager@demo.kehu"], workspace)
        mine = list(Account.objects.filter(owner=sales.user).order_by("pk")[:4])
        for account, (title, due, priority) in zip(mine, [
            ("准备续约合同", -2, "high"), ("回访新产品试用情况", 0, "normal"),
            ("发送季度对账单", 3, "normal"), ("安排年度客户拜访", 10, "low"),
        ], strict=False):
            activities.create_task(
                manager if due < 0 else sales, title=title, assignee_id=sales.user.pk, priority=priority,
                due_at=now + timedelta(days=due, hours=2),
                record_type="customers.account", record_id=account.pk,
                reminder_at=now + timedelta(days=due) if due >= 0 else None,
            )
        if mine:
            activities.add_comment(
                sales, record_type="customers.account", record_id=mine[0].pk,
                body=f"@{users['manager@demo.kehu'].name} 续约价格需要您审批。",
            )
        plans.create_plan(
            actor_for(users["admin@demo.kehu"], workspace), name="每月拜访上海企业客户",
            condition={"kind": "company", "city": "上海"}, interval=1, unit="month",
            task_title="月度拜访：{name}", due_in_days=7, priority="normal",
        )


# sku, name, category, unit price, unit cost, currency
DEMO_PRODUCTS = [
    ("CRM-STD", "客户管理系统 标准版（年）", "软件订阅", "6800", "1200", "CNY"),
    ("CRM-ENT", "客户管理系统 企业版（年）", "软件订阅", "19800", "3500", "CNY"),
    ("CRM-SEAT", "增加用户席位（年）", "软件订阅", "480", "60", "CNY"),
    ("IMPL-DAY", "实施服务（人天）", "服务", "2500", "1400", "CNY"),
    ("TRAIN-DAY", "现场培训（天）", "服务", "3000", "1500", "CNY"),
    ("SUP-GOLD", "金牌支持服务（年）", "服务", "9600", "4000", "CNY"),
    ("POS-T1", "智能收银终端 T1", "硬件", "2199", "1380", "CNY"),
    ("SCAN-S2", "无线扫码枪 S2", "硬件", "399", "210", "CNY"),
    ("PRN-P58", "小票打印机 P58", "硬件", "329", "180", "CNY"),
    ("TEA-GIFT", "西湖龙井礼盒", "礼品", "588", "260", "CNY"),
    ("SMS-10K", "短信包 1 万条", "消耗品", "450", "300", "CNY"),
    ("CRM-INTL", "Kehu CRM Cloud (annual, per seat)", "Software", "120", "18", "USD"),
    ("ONB-INTL", "Remote onboarding package", "Services", "1500", "700", "USD"),
    ("API-PLUS", "API Plus add-on (annual)", "Software", "2400", "300", "USD"),
    ("LEGACY-V1", "旧版单机软件（停售）", "软件", "1999", "300", "CNY"),
]
DEMO_FEEDBACK = [
    (5, "praise", "wechat", "实施顾问很专业，上线非常顺利。"),
    (4, "praise", "survey", "系统好用，希望报表能再灵活一些。"),
    (2, "complaint", "phone", "收银终端到货延迟了一周。"),
    (3, "suggestion", "email", "建议增加企业微信集成。"),
    (5, "praise", "email", "Great onboarding session, the team picked it up quickly."),
    (1, "complaint", "phone", "发票开错抬头，希望尽快重开。"),
    (4, "suggestion", "web", "Would love a dark mode for the mobile app."),
]


def seed_commerce(users: dict) -> None:
    """Products, a rate table, ~2 orders per account over 18 months (foreign ones in USD), feedback."""
    from datetime import date, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from kehu.commerce import services as commerce
    from kehu.customers.models import Account, Contact
    from kehu.workspaces.models import Workspace
    from kehu.workspaces.services import actor_for

    rng = random.Random(SEED + 2)  # noqa: S311 -- a stream of its own, like the activities
    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    today = timezone.localdate()
    with scope(workspace=workspace):
        admin = actor_for(users["admin@demo.kehu"], workspace)
        for sku, name, category, price, cost, currency in DEMO_PRODUCTS:
            commerce.create_product(admin, sku=sku, name=name, category=category, unit_price=price,
                                    unit_cost=cost, currency=currency, active=sku != "LEGACY-V1")
        # A monthly USD rate and a quarterly EUR rate since 19 months ago.
        year, number = divmod(today.year * 12 + today.month - 1 - 19, 12)
        month, usd = date(year, number + 1, 1), Decimal("7.12")
        while month <= today:
            commerce.create_rate(admin, currency="USD", rate_to_base=usd, valid_from=month)
            if month.month % 3 == 1:
                eur = usd * Decimal("1.08")
                commerce.create_rate(admin, currency="EUR", rate_to_base=eur, valid_from=month)
            usd = min(max(usd + Decimal(rng.randint(-6, 6)) / 100, Decimal("6.95")), Decimal("7.35"))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        cny = [p for p in DEMO_PRODUCTS if p[5] == "CNY" and p[0] != "LEGACY-V1"]
        usd_products = [p for p in DEMO_PRODUCTS if p[5] == "USD"]
        statuses = ["paid"] * 5 + ["shipped"] * 3 + ["confirmed"] * 2 + ["draft", "cancelled", "refunded"]
        first_contact: dict[int, int] = {}
        for contact in Contact.objects.order_by("pk"):
            first_contact.setdefault(contact.account_id, contact.pk)
        actors: dict = {}
        accounts = list(Account.objects.select_related("owner").order_by("pk"))
        for account in accounts:
            actor = actors.get(account.owner_id) or actors.setdefault(
                account.owner_id, actor_for(account.owner, workspace)
            )
            foreign = account.name.isascii()
            for _ in range(rng.choice([1, 2, 2, 2, 3])):
                catalog = usd_products if foreign else cny
                lines = [{"sku": sku, "quantity": rng.choice([1, 1, 2, 3, 5, 10])}
                         for sku, *_rest in rng.sample(catalog, k=rng.randint(1, min(3, len(catalog))))]
                commerce.create_order(
                    actor, account_id=account.pk, contact_id=first_contact.get(account.pk),
                    order_date=today - timedelta(days=rng.randint(0, 540)), status=rng.choice(statuses),
                    currency="USD" if foreign else "CNY", lines=lines, team_id=account.team_id,
                    discount=str(rng.choice([0, 0, 0, 100])) if not foreign else "0",
                )
        service = actor_for(users["service@demo.kehu"], workspace)
        picked = rng.sample(accounts, len(DEMO_FEEDBACK))
        for (rating, kind, channel, comment), account in zip(DEMO_FEEDBACK, picked, strict=True):
            commerce.create_feedback(
                service, account_id=account.pk, contact_id=first_contact.get(account.pk), rating=rating,
                kind=kind, channel=channel, comment=comment, owner_id=account.owner_id,
                received_at=timezone.now() - timedelta(days=rng.randint(1, 200)),
            )
