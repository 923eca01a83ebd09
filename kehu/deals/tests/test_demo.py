"""The demo seed's deals: every stage used, won and lost ones, history over months."""

import pytest
from django.db.models import Min
from django.utils import timezone
from django_scopes import scope

from kehu.deals.models import Opportunity, StageChange
from kehu.operations import demo
from kehu.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_demo_seed_has_deals_in_every_state():
    assert demo.seed()
    with scope(workspace=Workspace.objects.get(slug=demo.DEMO_SLUG)):
        deals = Opportunity.objects.all()
        assert 35 <= deals.count() <= 40
        assert set(deals.values_list("status", flat=True)) == {"open", "won", "lost"}
        assert (
            deals.filter(status="lost").exclude(lost_reason="").count() == deals.filter(status="lost").count()
        )
        assert deals.values("stage").distinct().count() == 6
        oldest = StageChange.objects.aggregate(m=Min("changed_at"))["m"]
        assert (timezone.now() - oldest).days >= 90
        assert not StageChange.objects.filter(changed_at__gt=timezone.now()).exists()
        # Every deal's history starts with its creation and ends in its current stage.
        for deal in deals.prefetch_related("stage_changes"):
            changes = list(deal.stage_changes.all())
            assert changes[0].from_stage_id is None and changes[-1].to_stage_id == deal.stage_id
