"""SLA warnings and escalations (``tickets.escalation``) under a settable clock.

The calendar (conftest) is Mon–Fri 09:00–18:00 in Shanghai, 540 business minutes a day; the policy
gives 240 minutes to the first response and 600 to the resolution, warning at 80 %. A ticket opened
Mon 2026-11-23 09:00: first response due 09:00 + 240 = 13:00, warning at 192 = 12:12; resolution due
540 on Monday + 60 on Tuesday = Tue 10:00, warning at 480 = Mon 17:00.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kehu.activities.models import Activity, ActivityLink, Notification
from kehu.sla import services as sla_services
from kehu.tickets import escalation, services
from kehu.tickets.models import Ticket

from .conftest import make_team

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def desk(tenant, policy, clock):
    """The policy escalates: notify the assignee and team managers, reassign to the manager, raise the
    priority."""
    make_team(tenant, "Support", "sales", "manager")
    with tenant.scope():
        sla_services.update_policy(
            tenant.actors["owner"],
            policy,
            escalation={
                "notify": ["assignee", "team_manager"],
                "reassign_to_user": tenant.users["manager"].pk,
                "raise_priority": True,
            },
        )
    return policy


def _open(tenant, clock, subject="Printer down", **extra) -> Ticket:
    clock.set(2026, 11, 23, 9, 0)
    with tenant.scope():
        ticket = services.open_ticket(
            tenant.actors["owner"], subject=subject, description="It does not print", channel="web", **extra
        )
        services.assign(tenant.actors["owner"], ticket, user=tenant.users["sales"])
        return Ticket.objects.get(pk=ticket.pk)


def _run(tenant, clock, *when) -> dict:
    clock.set(*when)
    with tenant.scope():
        return escalation.run(tenant.workspace)


def _notes(tenant, verb: str) -> list[tuple[int, str]]:
    with tenant.scope():
        return sorted(Notification.objects.filter(verb=verb).values_list("user_id", "text"))


def test_warning_then_breach_then_resolution_targets(tenant, desk, clock, django_capture_on_commit_callbacks):
    sales, manager = tenant.users["sales"], tenant.users["manager"]
    ticket = _open(tenant, clock)
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        sh(2026, 11, 23, 13),
        sh(2026, 11, 24, 10),
    )

    with django_capture_on_commit_callbacks(execute=True):
        # One minute before 80 % of the first-response target: nothing.
        assert _run(tenant, clock, 2026, 11, 23, 12, 11) == {"warned": 0, "breached": 0}
        # 12:12 = 192 of 240 minutes: warned once, however often the job runs.
        assert _run(tenant, clock, 2026, 11, 23, 12, 12) == {"warned": 1, "breached": 0}
        assert _run(tenant, clock, 2026, 11, 23, 12, 30) == {"warned": 0, "breached": 0}
    with tenant.scope():
        ticket.refresh_from_db()
    assert ticket.sla_warned_at == sh(2026, 11, 23, 12, 12) and ticket.sla_breached_at is None
    assert ticket.sla_state(sh(2026, 11, 23, 12, 30)) == "warning"
    warned = _notes(tenant, "sla_warning")
    # The assignee and the Support team's manager; the due time is shown in the workspace's zone.
    assert [uid for uid, _text in warned] == sorted([sales.pk, manager.pk])
    assert "13:00" in warned[0][1] and f"#{ticket.number}" in warned[0][1]

    with django_capture_on_commit_callbacks(execute=True):
        # 13:00 = the first-response due time: breach, escalation (reassign + priority), once.
        assert _run(tenant, clock, 2026, 11, 23, 13, 0) == {"warned": 0, "breached": 1}
        assert _run(tenant, clock, 2026, 11, 23, 13, 5) == {"warned": 0, "breached": 0}
    with tenant.scope():
        ticket.refresh_from_db()
        activity = Activity.objects.get(source_ref__startswith=f"sla.breach:{ticket.pk}:first_response")
        linked = set(ActivityLink.objects.filter(activity=activity).values_list("object_type", "object_id"))
    assert ticket.sla_breached_at == ticket.escalated_at == sh(2026, 11, 23, 13)
    assert ticket.owner_id == manager.pk and ticket.priority == "high"
    assert ticket.sla_state(sh(2026, 11, 23, 13, 5)) == "breached"
    assert (Ticket.object_type, ticket.pk) in linked
    breach = _notes(tenant, "sla_breach")
    assert sorted({uid for uid, _t in breach}) == sorted([sales.pk, manager.pk])  # the old assignee hears too

    # The first response at 14:00; the resolution target then warns at Mon 17:00 (480 of 600) and breaches
    # at Tue 10:00 — a second escalation (priority high → urgent), the first breach stamp stays.
    clock.set(2026, 11, 23, 14, 0)
    with tenant.scope():
        services.reply(tenant.actors["manager"], Ticket.objects.get(pk=ticket.pk), body="We are on it")
    with django_capture_on_commit_callbacks(execute=True):
        assert _run(tenant, clock, 2026, 11, 23, 16, 59) == {"warned": 0, "breached": 0}
        assert _run(tenant, clock, 2026, 11, 23, 17, 0) == {"warned": 1, "breached": 0}
        # Overnight the business clock stands still: Tue 09:59 is still before the due time.
        assert _run(tenant, clock, 2026, 11, 24, 9, 59) == {"warned": 0, "breached": 0}
        assert _run(tenant, clock, 2026, 11, 24, 10, 0) == {"warned": 0, "breached": 1}
        assert _run(tenant, clock, 2026, 11, 24, 11, 0) == {"warned": 0, "breached": 0}
    with tenant.scope():
        ticket.refresh_from_db()
    assert ticket.sla_warned_at == sh(2026, 11, 23, 17) and ticket.escalated_at == sh(2026, 11, 24, 10)
    assert ticket.sla_breached_at == sh(2026, 11, 23, 13) and ticket.priority == "urgent"


def test_paused_tickets_never_escalate_and_resume_moves_the_warning(tenant, desk, clock):
    ticket = _open(tenant, clock)
    clock.set(2026, 11, 23, 10, 0)
    with tenant.scope():
        services.change_status(tenant.actors["owner"], Ticket.objects.get(pk=ticket.pk), "open")
        services.change_status(tenant.actors["owner"], Ticket.objects.get(pk=ticket.pk), "pending")
    # Long past both due times, but waiting for the customer: nothing happens.
    assert _run(tenant, clock, 2026, 11, 30, 12, 0) == {"warned": 0, "breached": 0}
    # Resumed Mon Nov 30 09:00. Paused business minutes: Mon Nov 23 10:00–18:00 = 480 + Tue–Fri 4 × 540
    # = 2,640. The first response due moves from Mon 13:00 by 2,640: Mon 13–18 = 300 (2,340 left), Tue–Fri
    # 2,160 (180 left), Mon Nov 30 09:00 + 180 = 12:00. The warning (192 of 240 elapsed = 48 left) comes
    # 48 business minutes before that: 11:12 (60 used before the pause + 132 after it = 192).
    clock.set(2026, 11, 30, 9, 0)
    with tenant.scope():
        services.change_status(tenant.actors["owner"], Ticket.objects.get(pk=ticket.pk), "open")
        ticket.refresh_from_db()
    assert ticket.first_response_due_at == sh(2026, 11, 30, 12, 0)
    assert _run(tenant, clock, 2026, 11, 30, 11, 11) == {"warned": 0, "breached": 0}
    assert _run(tenant, clock, 2026, 11, 30, 11, 12) == {"warned": 1, "breached": 0}


def test_other_workspaces_are_not_touched(tenant, other_tenant, desk, clock):
    from kehu.sla.models import BusinessCalendar, SlaPolicy

    with other_tenant.scope():
        theirs = BusinessCalendar.objects.create(
            workspace=other_tenant.workspace,
            name="24/7",
            is_default=True,
            weekly_hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        )
        SlaPolicy.objects.create(
            workspace=other_tenant.workspace, name="All", first_response_minutes=10, calendar=theirs
        )
    clock.set(2026, 11, 23, 9, 0)
    with other_tenant.scope():
        other = services.open_ticket(
            other_tenant.actors["owner"], subject="Theirs", description="x", channel="web"
        )
    assert _run(tenant, clock, 2026, 11, 24, 9, 0) == {"warned": 0, "breached": 0}
    with other_tenant.scope():
        other.refresh_from_db()
        assert other.sla_breached_at is None
        assert escalation.run(other_tenant.workspace) == {"warned": 0, "breached": 1}


def test_tick_enqueues_one_job_per_workspace_with_policies(tenant, other_tenant, desk, clock, settings):
    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    from asgiref.local import Local

    task_backends._connections = Local(task_backends.thread_critical)
    ticket = _open(tenant, clock)
    clock.set(2026, 11, 23, 13, 30)
    assert escalation.tick() == 1  # only this workspace has SLA policies
    with tenant.scope():
        ticket.refresh_from_db()
    assert ticket.sla_breached_at == sh(2026, 11, 23, 13, 30)


def test_run_queries_grow_by_a_fixed_few_per_warned_ticket(tenant, desk, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def warn(count: int) -> int:
        """Queries of a run that warns ``count`` newly opened tickets (the earlier ones are stamped)."""
        for i in range(count):
            _open(tenant, clock, subject=f"T{i}")
        clock.set(2026, 11, 23, 12, 30)
        with tenant.scope(), CaptureQueriesContext(connection) as ctx:
            assert escalation.run(tenant.workspace) == {"warned": count, "breached": 0}
        return len(ctx.captured_queries)

    warn(1)  # warm per-process caches
    one, two, five = warn(1), warn(2), warn(5)
    # Per warned ticket: the claiming UPDATE and the recipients' membership query (in a savepoint); the
    # policy/target range queries are paid once per run, whatever the batch.
    per_ticket = two - one
    assert 1 <= per_ticket <= 4
    assert five == one + 4 * per_ticket


def test_the_notification_menu_names_warnings_and_breaches(
    tenant, desk, clock, django_capture_on_commit_callbacks
):
    """The bell shows the escalation's verbs by their labels, never the raw keys sla_warning/sla_breach."""
    ticket = _open(tenant, clock)
    with django_capture_on_commit_callbacks(execute=True):
        assert _run(tenant, clock, 2026, 11, 23, 12, 12) == {"warned": 1, "breached": 0}
        assert _run(tenant, clock, 2026, 11, 23, 13, 0) == {"warned": 0, "breached": 1}
    bell = tenant.web_client("sales").get("/notifications/bell/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="bell-count">2<' in bell
    assert "SLA warning" in bell and "SLA breached" in bell
    assert "sla_warning" not in bell and "sla_breach" not in bell
    assert bell.count(f'href="/tickets/{ticket.pk}/"') == 2  # each links to the ticket


def test_a_raised_priority_keeps_the_answered_first_response_target(tenant, desk, clock):
    """Re-choosing the policy after the first response (here: the breach raises the priority) keeps its
    due date: it was cleared, so the ticket page lost it and the dashboard's "first response within SLA"
    left the ticket out. A pause moved it once; the re-choice must not move it again."""
    from django.db.models import F

    ticket = _open(tenant, clock)  # Mon 09:00: first response due 13:00, resolution Tue 10:00
    clock.set(2026, 11, 23, 10, 0)
    with tenant.scope():
        services.reply(tenant.actors["owner"], ticket, body="Which printer?", status="pending")
    clock.set(2026, 11, 23, 12, 0)  # 120 business minutes paused
    with tenant.scope():
        services.add_customer_message(services.system_actor(tenant.workspace), ticket, body="The big one")
        ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        sh(2026, 11, 23, 13),
        sh(2026, 11, 24, 12),
    )
    assert _run(tenant, clock, 2026, 11, 24, 12, 0) == {"warned": 0, "breached": 1}
    with tenant.scope():
        ticket.refresh_from_db()
        # The service dashboard's "answered within the first-response target" condition.
        in_time = Ticket.objects.filter(first_responded_at__lte=F("first_response_due_at"))
        assert list(in_time.values_list("pk", flat=True)) == [ticket.pk]
    assert ticket.priority == "high"  # raised: the policy was chosen again
    assert ticket.first_response_due_at == sh(2026, 11, 23, 13)  # answered 10:00, in time
    assert ticket.resolution_due_at == sh(2026, 11, 24, 12)  # Tue 10:00 + the 120 paused, once
