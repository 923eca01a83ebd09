"""Fixtures of the ticket tests: a settable clock, a business calendar and SLA policies."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args) -> datetime:
        """Set the time to a Shanghai wall-clock time (year, month, day, hour, minute)."""
        from zoneinfo import ZoneInfo

        self.now = datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """``timezone.now()`` under the test's control (services read the time through it)."""
    c = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", c)
    return c


@pytest.fixture
def calendar(tenant):
    """Mon–Fri 09:00–18:00 in Shanghai (9 business hours a day), no exceptions."""
    from kehu.sla.models import BusinessCalendar

    day = [["09:00", "18:00"]]
    with tenant.scope():
        return BusinessCalendar.objects.create(
            workspace=tenant.workspace,
            name="Office",
            time_zone="Asia/Shanghai",
            is_default=True,
            weekly_hours={
                d: (day if i < 5 else [])
                for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
            },
        )


@pytest.fixture
def policy(tenant, calendar):
    """Every ticket: first response in 240 business minutes, resolution in 600."""
    from kehu.sla.models import SlaPolicy

    with tenant.scope():
        return SlaPolicy.objects.create(
            workspace=tenant.workspace,
            name="Standard",
            position=10,
            conditions={},
            first_response_minutes=240,
            resolution_minutes=600,
            calendar=calendar,
        )


def make_team(tenant, name: str, *roles: str):
    from kehu.workspaces.models import Team

    with tenant.scope():
        team = Team.objects.create(workspace=tenant.workspace, name=name)
        team.members.set([tenant.users[r] for r in roles])
    return team
