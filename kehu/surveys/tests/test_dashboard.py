"""The service dashboard's numbers, computed by hand on a small fixture (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from kehu.surveys import dashboard
from kehu.surveys.models import Invitation, SurveyResponse
from kehu.tickets.models import Ticket
from kehu.tickets.tests import conftest as tickets_fixtures

from .conftest import open_ticket

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
# The tickets tests' settable clock and Mon–Fri 09:00–18:00 calendar with its SLA policy.
clock, calendar, policy = tickets_fixtures.clock, tickets_fixtures.calendar, tickets_fixtures.policy


def test_interpolation_is_percentile_cont():
    assert dashboard.interpolate([], 0.5) is None
    assert dashboard.interpolate([7.0], 0.9) == 7.0
    assert dashboard.interpolate([6.0, 1.0, 2.0], 0.5) == 2.0
    assert dashboard.interpolate([1.0, 2.0, 6.0], 0.9) == pytest.approx(5.2)  # 2 + 0.8 × (6 − 2)
    assert dashboard.interpolate([5.0, 20.0], 0.5) == 12.5


@pytest.fixture
def service_desk(tenant, customer):
    """Five tickets with known times (see the expectations in the test), two CSAT, four NPS answers,
    a ticket of another workspace that must not count."""
    from kehu.sla.models import BusinessCalendar, SlaPolicy

    _account, contact = customer
    now = timezone.now()
    with tenant.scope():
        calendar = BusinessCalendar.objects.create(
            workspace=tenant.workspace,
            name="24/7",
            time_zone="Asia/Shanghai",
            is_default=True,
            weekly_hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        )
        SlaPolicy.objects.create(
            workspace=tenant.workspace,
            name="All",
            position=1,
            conditions={},
            first_response_minutes=240,
            resolution_minutes=600,
            calendar=calendar,
        )
        t = {name: open_ticket(tenant, contact, subject=name) for name in ("t1", "t2", "t3", "t4", "t5")}
        service = tenant.users["service"].pk
        rows = {
            # created, first response, resolved, status, priority, owner, breached, type/cause
            "t1": (now - 5 * D, 1 * H, 5 * H, "resolved", "normal", service, False, {}),
            "t2": (now - 5 * D, 2 * H, 20 * H, "closed", "normal", service, True, {}),
            "t3": (now - 2 * D, 6 * H, None, "open", "urgent", service, True, {}),
            "t4": (now - 40 * D, None, None, "open", "high", service, False, {}),
            "t5": (
                now - 5 * D + H,
                None,
                None,
                "new",
                "normal",
                None,
                False,
                {"type": "complaint", "root_cause": "billing"},
            ),
        }
        for name, (created, fr, res, status, priority, owner, breached, extra) in rows.items():
            Ticket.objects.filter(pk=t[name].pk).update(
                created_at=created,
                first_response_due_at=created + 4 * H,
                resolution_due_at=created + 10 * H,
                first_responded_at=created + fr if fr else None,
                resolved_at=created + res if res else None,
                # The 24/7 calendar: business minutes are the elapsed minutes (stamped by the services).
                first_response_business_minutes=fr // MINUTE if fr else None,
                resolution_business_minutes=res // MINUTE if res else None,
                status=status,
                priority=priority,
                owner_id=owner,
                team=None,
                sla_breached_at=created + 10 * H if breached else None,
                **extra,
            )
        for ticket, score in ((t["t1"], 5), (t["t2"], 2)):
            _answer(tenant, "csat", score, now - D, ticket=ticket, contact=contact)
        for score in (10, 9, 8, 6):
            _answer(tenant, "nps", score, now - D, contact=contact)
    return t


def _answer(tenant, kind, score, when, **links):
    invitation = Invitation.objects.create(
        workspace=tenant.workspace,
        kind=kind,
        email="x@example.com",
        token_hash=f"{kind}{score}{when}"[:64],
        expires_at=when + 30 * D,
        **links,
    )
    SurveyResponse.objects.create(
        workspace=tenant.workspace,
        invitation=invitation,
        kind=kind,
        score=score,
        answered_at=when,
        editable_until=when + D,
        **links,
    )


def _other_workspace_ticket(other_tenant):
    from kehu.tickets import services

    with other_tenant.scope():
        services.open_ticket(other_tenant.actors["service"], subject="other", description="x", channel="web")


def test_dashboard_numbers_by_hand(tenant, other_tenant, service_desk):
    _other_workspace_ticket(other_tenant)
    with tenant.scope():
        s = dashboard.Scope(tenant.actors["admin"], dashboard.default_period(tenant.workspace))
        figures = dashboard.everything(s)
    opened = figures["open"]
    assert opened["total"] == 3  # t3, t4 (open), t5 (new)
    assert opened["by_status"] == [{"key": "new", "count": 1}, {"key": "open", "count": 2}]
    assert opened["by_priority"] == [
        {"key": "normal", "count": 1},
        {"key": "high", "count": 1},
        {"key": "urgent", "count": 1},
    ]
    times = figures["times"]
    # In range: t1, t2, t3, t5 (t4 is 40 days old). First responses 1 h, 2 h, 6 h; resolutions 5 h, 20 h.
    assert times["created"] == 4
    assert times["first_response_median_business_hours"] == 2.0
    assert times["first_response_p90_business_hours"] == 5.2
    assert times["resolution_median_business_hours"] == 12.5
    assert times["resolution_p90_business_hours"] == 18.5  # 5 + 0.9 × 15
    assert (times["first_responses_measured"], times["resolutions_measured"]) == (3, 2)
    assert str(times["first_response_within_sla"]) == "66.7"  # t1, t2 of t1–t3 by the 4 h due time
    assert str(times["resolution_within_sla"]) == "50.0"  # t1 of t1, t2
    assert (times["with_sla"], times["breached"], str(times["breach_rate"])) == (4, 2, "50.0")
    assert [b["count"] for b in figures["backlog"]["buckets"]] == [0, 1, 1, 0, 1]  # t3 2 d, t5 ~5 d, t4 40 d
    agents = {a["user_id"]: a for a in figures["workload"]["agents"]}
    service = tenant.users["service"].pk
    assert (agents[service]["open"], agents[service]["urgent"], agents[service]["breached"]) == (2, 2, 1)
    assert agents[None]["open"] == 1
    csat = figures["satisfaction"]["csat"]
    assert (csat["responses"], csat["average"], str(csat["satisfied_percent"])) == (2, 3.5, "50.0")
    nps = figures["satisfaction"]["nps"]
    assert (nps["responses"], nps["promoters"], nps["detractors"], nps["nps"]) == (4, 2, 1, 25.0)
    assert sum(row["responses"] for row in nps["trend"]) == 4
    assert figures["complaints"]["by_cause"] == [{"key": "billing", "count": 1}]


def test_bot_deflection(tenant, service_desk):
    from django.apps import apps

    if not apps.is_installed("kehu.bot"):
        pytest.skip("the bot app is not installed")
    from kehu.bot.models import BotConversation

    with tenant.scope():
        for outcome, turns, handed in (
            ("answered", 2, False),
            ("answered", 1, False),
            ("handed_over", 3, True),
            ("open", 0, False),
        ):
            BotConversation.objects.create(
                workspace=tenant.workspace,
                outcome=outcome,
                turn_count=turns,
                handed_over_at=timezone.now() if handed else None,
            )
        s = dashboard.Scope(tenant.actors["admin"], dashboard.default_period(tenant.workspace))
        bot = dashboard.bot(s)
    assert (bot["conversations"], bot["deflected"], bot["handed_over"], str(bot["deflection_rate"])) == (
        3,
        2,
        1,
        "66.7",
    )


def test_a_sales_rep_sees_only_their_tickets(tenant, service_desk):
    with tenant.scope():
        Ticket.objects.filter(subject="t4").update(owner_id=tenant.users["sales"].pk)
        s = dashboard.Scope(tenant.actors["sales"], dashboard.default_period(tenant.workspace))
        assert dashboard.open_tickets(s)["total"] == 1


def test_dashboard_api_permission_and_isolation(tenant, other_tenant, service_desk):
    _other_workspace_ticket(other_tenant)
    data = tenant.api_client("service").get("/api/v1/service/dashboard").json()
    assert data["open"]["total"] == 3 and data["times"]["created"] == 4
    other = other_tenant.api_client("admin").get("/api/v1/service/dashboard").json()
    assert other["open"]["total"] == 1 and other["satisfaction"]["nps"]["responses"] == 0
    assert tenant.api_client("marketing").get("/api/v1/service/dashboard").status_code == 403
    bad = tenant.api_client("service").get("/api/v1/service/dashboard?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 422


def test_dashboard_pages(tenant, service_desk):
    client = tenant.web_client("service")
    page = client.get("/service/")
    assert page.status_code == 200
    for name in ("open", "times", "backlog", "workload", "satisfaction", "complaints", "bot"):
        assert f'hx-get="/service/panels/{name}/'.encode() in page.content
        panel = client.get(f"/service/panels/{name}/")
        assert panel.status_code == 200, name
        assert f'id="panel-{name}"'.encode() in panel.content
    times = client.get("/service/panels/times/").content.decode()
    assert 'id="fr-median">2.0 h<' in times and 'id="rs-p90">18.5 h<' in times
    assert "(business hours)" in times and 'id="fr-count">3<' in times
    assert "<svg" in client.get("/service/panels/open/").content.decode()
    assert client.get("/service/panels/nope/").status_code == 404
    assert tenant.web_client("marketing").get("/service/panels/open/").status_code in (403, 404)


def test_dashboard_query_count(tenant, service_desk, django_assert_max_num_queries):
    with tenant.scope():
        s = dashboard.Scope(tenant.actors["admin"], dashboard.default_period(tenant.workspace))
        with django_assert_max_num_queries(20):
            dashboard.everything(s)
    with scopes_disabled():
        assert Ticket.objects.count() == 5


def test_times_are_business_hours_on_the_sla_calendar(tenant, customer, policy, clock):
    """Through the services, on the tickets tests' Mon–Fri 09:00–18:00 calendar: a ticket opened Friday
    17:00 and answered Monday 10:00 took 2 business hours (65 elapsed); one answered after 30 minutes
    on a Monday, then pending for a day and resolved, counts without the pause."""
    from kehu.tickets import services

    _account, contact = customer
    agent = tenant.actors["service"]
    with tenant.scope():
        clock.set(2026, 11, 27, 17, 0)  # Friday
        weekend = open_ticket(tenant, contact, subject="weekend")
        clock.set(2026, 11, 30, 10, 0)  # Monday: 1 h Friday + 1 h Monday
        services.reply(agent, weekend, body="周一回复")
        clock.set(2026, 11, 30, 9, 0)
        paused = open_ticket(tenant, contact, subject="paused")
        clock.set(2026, 11, 30, 9, 30)
        services.reply(agent, paused, body="请确认", status="pending")
        clock.set(2026, 12, 1, 9, 30)  # Tuesday 09:30: 9 business hours paused
        services.add_customer_message(services.system_actor(tenant.workspace), paused, body="确认")
        clock.set(2026, 12, 1, 11, 30)
        services.change_status(agent, paused, "resolved")  # 0.5 h + 2 h worked
        clock.set(2026, 12, 2, 12, 0)
        s = dashboard.Scope(agent, dashboard.default_period(tenant.workspace))
        times = dashboard.times(s)
    assert times["first_responses_measured"] == 2
    assert times["first_response_median_business_hours"] == 1.2  # (0.5 + 2) / 2 = 1.25 → 1.2
    assert times["first_response_p90_business_hours"] == 1.9  # 0.5 + 0.9 × 1.5 = 1.85 → 1.9
    assert times["resolution_median_business_hours"] == 2.5
    assert times["resolutions_measured"] == 1
