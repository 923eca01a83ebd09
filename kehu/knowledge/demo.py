"""Demo knowledge base, the agents' side: internal articles (never in the help centre), a draft, and
an article edited twice so its versions show. The public help-centre articles come with the bot's
demo (``kehu/bot/demo.py``), from the bot's evaluation knowledge base."""

from django_scopes import scope

from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.select_related("user").filter(role__key="owner").first()
        actor = actor_for(owner.user, workspace)
        handbook = services.create_category(actor, name="客服手册", name_en="Agent handbook", position=90)
        services.create_article(
            actor,
            title="退款审批流程",
            language="zh-hans",
            category_id=handbook.pk,
            visibility="internal",
            status="published",
            summary="500 元以上的退款需要客服主管在工单中审批。",
            body="## 审批规则\n\n- 500 元以下：客服直接处理\n- 500 元以上：主管审批\n"
            "- 5,000 元以上：财务复核\n\n审批意见写在工单的内部备注中。",
            keywords="退款 审批 主管 财务",
        )
        services.create_article(
            actor,
            title="Escalating a complaint",
            language="en",
            category_id=handbook.pk,
            visibility="internal",
            status="published",
            summary="Complaints with severity high go to the team lead within 2 business hours.",
            body="1. Set the ticket type to complaint and the severity.\n2. Assign the team lead.\n"
            "3. Add an internal note with the facts and what the customer asks for.",
        )
        draft = services.create_article(
            actor,
            title="双十一发货安排（草稿）",
            language="zh-hans",
            status="draft",
            body="大促期间订单量大，发货时间顺延 1–2 天。",
        )
        services.update_article(
            actor, draft, body="大促期间订单量大，发货时间顺延 1–2 天，偏远地区顺延 3 天。"
        )
        services.update_article(
            actor, draft, body="11 月 11 日至 13 日的订单发货时间顺延 1–2 天，偏远地区顺延 3 天。"
        )
