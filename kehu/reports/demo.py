"""Demo reports: the customer-value dashboard, three saved reports and a weekly-mailed dashboard."""

from django_scopes import scope

from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import Chart, Sharing


def seed(workspace_slug: str) -> int:
    """Create the demo's reports and dashboards in ``workspace_slug``; how many reports were made."""
    workspace = Workspace.objects.get(slug=workspace_slug)
    with scope(workspace=workspace):
        members = {
            m.role.key: m.user
            for m in Membership.objects.filter(is_active=True).select_related("user", "role").order_by("pk")
        }
        owner = actor_for(members["owner"], workspace)
        manager = actor_for(members.get("manager") or members["owner"], workspace)
        services.ensure_customer_value(owner)
        revenue = services.create_report(
            manager,
            name="每月订单收入",
            object_type="commerce.order",
            chart=Chart.LINE,
            sharing=Sharing.WORKSPACE,
            description="已付款和已发货订单，按下单月份（本位币）",
            definition={
                "filters": {
                    "op": "and",
                    "conditions": [{"field": "status", "lookup": "in", "value": ["paid", "shipped"]}],
                },
                "group_by": [{"field": "order_date", "bucket": "month"}],
                "aggregates": [{"fn": "sum", "field": "base_total_amount"}, {"fn": "count"}],
                "date_field": "order_date",
            },
        )
        industries = services.create_report(
            manager,
            name="各行业客户（按等级）",
            object_type="customers.account",
            chart=Chart.TABLE,
            sharing=Sharing.WORKSPACE,
            definition={"group_by": [{"field": "industry"}, {"field": "grade"}], "date_field": ""},
        )
        grades_and_stages = services.create_report(
            manager,
            name="客户等级与生命周期",
            object_type="customers.account",
            chart=Chart.TREEMAP,
            sharing=Sharing.WORKSPACE,
            description="每个等级的方块里按生命周期阶段细分，面积为客户数",
            definition={"group_by": [{"field": "grade"}, {"field": "lifecycle_stage"}], "date_field": ""},
        )
        board = services.create_dashboard(
            manager,
            name="销售周报",
            sharing=Sharing.WORKSPACE,
            schedule="weekly",
            recipient_ids=[u.pk for key, u in members.items() if key in {"owner", "manager"}],
        )
        services.add_tile(manager, board, report_id=revenue.pk, width=2)
        services.add_tile(manager, board, report_id=industries.pk)
        services.add_tile(manager, board, kind="churn_risks")
        services.add_tile(manager, board, report_id=grades_and_stages.pk, width=2)
    return 3
