"""The demo seed's SLAs (``kehu.sla.demo.seed``, called by ``kehu demo`` before the tickets)."""

import pytest

from kehu.sla.demo import seed
from kehu.sla.models import BusinessCalendar, CalendarException, SlaPolicy

pytestmark = pytest.mark.django_db


def test_demo_seed_has_calendars_holidays_and_policies(tenant):
    seed(tenant.workspace.slug)
    with tenant.scope():
        # 2025: 28 closed days + 5 adjusted working days; 2026: 33 + 6 — on the default calendar.
        assert CalendarException.objects.filter(calendar__is_default=True).count() == 28 + 5 + 33 + 6
        assert BusinessCalendar.objects.count() == 2
        policies = list(SlaPolicy.objects.order_by("position"))
        assert [p.conditions for p in policies] == [
            {"grade": ["strategic"]},
            {"priority": ["urgent"]},
            {"type": ["complaint"]},
            {},
        ]
        assert list(policies[0].notify_users.all()) == [tenant.users["manager"]]
        assert policies[0].reassign_to_user_id == tenant.users["manager"].pk
        assert policies[1].calendar.weekly_hours["sun"] == [["00:00", "24:00"]]
