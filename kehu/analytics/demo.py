"""Demo analytics: settings, two full computations a month apart (so the segment transitions have
two dates), a manual lifecycle stage with its reason, and an incremental run. Runs after the
orders, activities and tickets are seeded (cost to serve counts them)."""

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from kehu.customers.models import Account
from kehu.workspaces.models import Membership, Workspace
from kehu.workspaces.services import actor_for

from . import engine, services


def seed(slug: str) -> None:
    workspace = Workspace.objects.get(slug=slug)
    with scope(workspace=workspace):
        owner = Membership.objects.filter(role__key="owner").select_related("user").first()
        actor = actor_for(owner.user, workspace)
        services.update_settings(actor, {"churn_days": 365, "value_months": 12, "cost_per_visit": 300})
        today = timezone.localdate()
        engine.compute(workspace, "full", as_of=today - timedelta(days=30))
        engine.compute(workspace, "full", as_of=today)
        account = Account.objects.exclude(lifecycle_stage="prospect").order_by("pk").first()
        if account is not None:
            services.set_override(
                actor, account.pk, Account.Lifecycle.ACTIVE, "框架协议已续签，按活跃客户跟进"
            )
        engine.compute(workspace, "incremental", as_of=today)
