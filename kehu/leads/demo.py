"""Demo leads: ~50 prospects from every source and in every status (some converted), one web form
and two assignment rules, so the leads list, the settings and the conversion have something to show."""

import random
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from kehu.customers.models import Contact
from kehu.workspaces.models import Membership, Team, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import Lead

COUNT = 50
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛", "明", "超", "霞")
COMPANIES = (
    ("杭州云帆科技", "软件", "浙江", "杭州"),
    ("苏州精工制造", "制造", "江苏", "苏州"),
    ("上海海纳贸易", "贸易", "上海", "上海"),
    ("深圳锐思电子", "电子", "广东", "深圳"),
    ("成都天府物流", "物流", "四川", "成都"),
    ("北京知行教育", "教育", "北京", "北京"),
    ("南京康泰医疗", "医疗", "江苏", "南京"),
    ("Bluewave Analytics", "Software", "", "Singapore"),
)
TITLES = ("采购经理", "IT 总监", "总经理", "销售总监", "运营主管", "CTO")
CAMPAIGNS = (
    ("baidu", "cpc", "spring-promo"),
    ("wechat", "social", "webinar-2026"),
    ("newsletter", "email", ""),
)
REASONS = ("No budget", "Student", "Competitor", "Duplicate enquiry")


def seed(slug: str, seed_value: int) -> None:
    rng = random.Random(seed_value)  # noqa: S311 -- reproducible demo data
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.select_related("user", "role").filter(role__key="owner").first()
        boss = actor_for(owner.user, workspace)
        members = {m.role.key: m.user for m in Membership.objects.select_related("role", "user")}
        # The key-account team (the other apps' demo tests pin the first sales rep's task count).
        first_rep = (
            Membership.objects.filter(role__key="sales")
            .order_by("user_id")
            .values_list("user_id", flat=True)
            .first()
        )
        team = Team.objects.exclude(members=first_rep).order_by("id").first()
        services.create_form(
            boss,
            name="官网咨询表单",
            fields=["name", "company", "title", "email", "phone", "city", "description"],
            required_fields=["name", "phone"],
            thank_you_text="感谢您的咨询，我们会在 24 小时内联系您。",
        )
        services.create_rule(
            boss,
            name="江浙沪 → 大客户团队",
            conditions=[{"field": "province", "op": "in", "value": ["浙江", "江苏", "上海"]}],
            team_id=team.pk if team else None,
            user_id=None if team else members.get("sales", owner.user).pk,
            daily_cap=20,
            sla_hours=24,
        )
        services.create_rule(
            boss, name="其他线索 → 销售经理", user_id=members.get("manager", owner.user).pk, sla_hours=48
        )
        now = timezone.now()
        # Converted demo leads turn out to be people at existing customers: converting them into those
        # records keeps the demo's account and contact counts as the other apps' demo tests expect.
        known = list(
            Contact.objects.filter(account__isnull=False).select_related("account").order_by("id")[:200]
        )
        for i in range(COUNT):
            company, industry, province, city = rng.choice(COMPANIES)
            source = rng.choice(Lead.Source.values)
            utm = rng.choice(CAMPAIGNS) if source in ("web_form", "ad_campaign") else ("", "", "")
            status = rng.choices(Lead.Status.values, weights=[4, 3, 3, 1])[0]
            existing = rng.choice(known) if known and status == "qualified" and rng.random() < 0.4 else None
            name = (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
            )
            lead = services.create_lead(
                boss,
                name=existing.name if existing else name,
                company=existing.account.name if existing else company,
                title=rng.choice(TITLES),
                phone=f"1{rng.choice(('38', '39', '86', '35', '58'))}{rng.randrange(10**8):08d}",
                email=f"lead{i}@example.com" if rng.random() < 0.8 else "",
                industry=industry,
                province=province,
                city=city,
                size=rng.choice(Lead.Size.values),
                source=source,
                utm_source=utm[0],
                utm_medium=utm[1],
                utm_campaign=utm[2],
                status=status,
                disqualified_reason=rng.choice(REASONS) if status == "disqualified" else "",
            )
            Lead.objects.filter(pk=lead.pk).update(created_at=now - timedelta(days=rng.randrange(0, 90)))
            if existing:
                services.convert_lead(boss, lead, account_id=existing.account_id, contact_id=existing.pk)
