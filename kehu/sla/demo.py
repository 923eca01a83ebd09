"""Demo SLAs: the default calendar with the 2025/2026 China public holidays, a round-the-clock
calendar for the urgent line, and four policies (strategic customers, urgent, complaints, standard)."""

from django_scopes import scope

from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import services
from .models import WEEKDAYS


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.filter(role__key="owner").select_related("user").first()
        actor = actor_for(owner.user, workspace)
        manager = Membership.objects.filter(role__key="manager", is_active=True).order_by("id").first()
        office = services.default_calendar(workspace)
        for year in services.holiday_years():
            services.load_public_holidays(actor, office, year)
        hotline = services.create_calendar(
            actor,
            name="7×24",
            time_zone=workspace.time_zone,
            weekly_hours={d: [["00:00", "24:00"]] for d in WEEKDAYS},
        )
        escalate = {
            "notify": ["assignee", "team_manager", *([manager.user_id] if manager else [])],
            "reassign_to_user": manager.user_id if manager else None,
            "raise_priority": True,
        }
        services.create_policy(
            actor,
            name="战略客户 Strategic customers",
            conditions={"grade": ["strategic"]},
            first_response_minutes=30,
            resolution_minutes=480,
            calendar_id=office.pk,
            escalation=escalate,
        )
        services.create_policy(
            actor,
            name="紧急 Urgent",
            conditions={"priority": ["urgent"]},
            first_response_minutes=60,
            resolution_minutes=24 * 60,
            calendar_id=hotline.pk,
            warn_percent=75,
            escalation=escalate,
        )
        services.create_policy(
            actor,
            name="投诉 Complaints",
            conditions={"type": ["complaint"]},
            first_response_minutes=120,
            resolution_minutes=3 * 480,
            calendar_id=office.pk,
            escalation={"notify": ["assignee", "team_manager"], "raise_priority": True},
        )
        services.create_policy(
            actor,
            name="标准 Standard",
            first_response_minutes=240,
            resolution_minutes=5 * 480,
            calendar_id=office.pk,
            escalation={"notify": ["assignee"]},
        )
