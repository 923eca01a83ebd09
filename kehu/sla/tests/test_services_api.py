"""Calendars, exceptions, public holidays, policies and their matching; the REST API with permissions
and workspace isolation."""

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.sla import clock, services
from kehu.sla.models import BusinessCalendar, CalendarException

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_default_calendar_is_created_once_in_the_workspace_zone(tenant):
    tenant.workspace.time_zone = "Europe/Berlin"
    tenant.workspace.save()
    with tenant.scope():
        first = services.default_calendar(tenant.workspace)
        assert services.default_calendar(tenant.workspace).pk == first.pk
        assert BusinessCalendar.objects.count() == 1
    assert first.time_zone == "Europe/Berlin" and first.is_default
    assert (
        first.weekly_hours["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
        and first.weekly_hours["sat"] == []
    )


def test_load_public_holidays_is_idempotent_and_keeps_typed_in_dates(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        calendar = services.default_calendar(tenant.workspace)
        # Typed in first: the desk works on 2026-10-07 (a National Day holiday); loading keeps that.
        services.set_exception(owner, calendar, date=date(2026, 10, 7), kind="workday", name="On duty")
        counts = services.load_public_holidays(owner, calendar, 2026)
        # 33 closed days (3 + 9 + 3 + 5 + 3 + 3 + 7) and 6 adjusted working days = 39; Oct 7 is kept.
        assert counts == {"created": 38, "unchanged": 0, "skipped": 1}
        assert services.load_public_holidays(owner, calendar, 2026) == {
            "created": 0,
            "unchanged": 38,
            "skipped": 1,
        }
        assert CalendarException.objects.filter(calendar=calendar).count() == 39
        saturday = CalendarException.objects.get(calendar=calendar, date=date(2026, 10, 10))
        assert (saturday.kind, saturday.name, saturday.source) == ("workday", "国庆节调休上班", "cn-2026")
        with pytest.raises(ValidationFailed):
            services.load_public_holidays(owner, calendar, 1999)
        with pytest.raises(PermissionDenied):
            services.load_public_holidays(tenant.actors["sales"], calendar, 2025)
        calendar.refresh_from_db()
        spec = services.calendar_spec(calendar)
    # The loaded data drives the arithmetic: Fri Oct 9 17:00 + 120 → Sat Oct 10 (调休) 10:00.
    assert clock.add_business_minutes(spec, datetime(2026, 10, 9, 17, tzinfo=SH), 120) == datetime(
        2026, 10, 10, 10, tzinfo=SH
    )
    # Oct 7 is open: Sep 30 17:30 + 60 = 30 that day, Oct 1–6 closed, 30 from Wed Oct 7 09:00 → 09:30.
    assert clock.add_business_minutes(calendar, datetime(2026, 9, 30, 17, 30, tzinfo=SH), 60) == datetime(
        2026, 10, 7, 9, 30, tzinfo=SH
    )


def test_spec_cache_follows_changes(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        calendar = services.default_calendar(tenant.workspace)
        before = services.calendar_spec(calendar)
        assert services.calendar_spec(calendar) is before  # cached
        services.set_exception(
            owner, calendar, date=date(2026, 11, 28), kind="workday", hours=[["10:00", "12:00"]]
        )
        after = services.calendar_spec(calendar)
    assert after is not before and after.exceptions[date(2026, 11, 28)] == ((600, 720),)


def test_calendar_validation_and_deletion_rules(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        with pytest.raises(ValidationFailed) as failed:
            services.create_calendar(
                owner, name="Bad", time_zone="Mars/Base", weekly_hours={"mon": [["18:00", "09:00"]]}
            )
        assert {d.field for d in failed.value.details} == {"time_zone", "weekly_hours.mon"}
        support = services.create_calendar(
            owner,
            name="24/7",
            weekly_hours={d: [["00:00", "24:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
        )
        default = services.default_calendar(tenant.workspace)
        with pytest.raises(Conflict):
            services.delete_calendar(owner, default)
        policy = services.create_policy(owner, name="P", calendar_id=support.pk, resolution_minutes=60)
        with pytest.raises(Conflict):
            services.delete_calendar(owner, support)
        services.delete_policy(owner, policy)
        services.update_calendar(owner, support, is_default=True)
        default.refresh_from_db()
        assert not default.is_default and BusinessCalendar.objects.get(is_default=True) == support
        services.delete_calendar(owner, default)


def test_match_policy_first_match_wins_and_reorder(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        vip = services.create_policy(
            owner,
            name="VIP urgent",
            conditions={"priority": ["urgent", "high"], "grade": ["strategic"]},
            first_response_minutes=30,
            resolution_minutes=240,
        )
        complaints = services.create_policy(
            owner,
            name="Complaints",
            conditions={"type": ["complaint"]},
            first_response_minutes=60,
            resolution_minutes=960,
        )
        fallback = services.create_policy(owner, name="Everything", first_response_minutes=240)
        paused = services.create_policy(owner, name="Off", active=False, position=0)
        assert [p.position for p in (vip, complaints, fallback)] == [0, 1, 2] and paused.position == 0
        ws = tenant.workspace
        facts = {
            "priority": "urgent",
            "grade": "strategic",
            "channel": "email",
            "category": "",
            "type": "complaint",
        }
        assert services.match_policy(ws, **facts) == vip
        assert services.match_policy(ws, **{**facts, "grade": "ordinary"}) == complaints
        assert services.match_policy(ws, **{**facts, "grade": "", "type": "inquiry"}) == fallback
        services.reorder_policies(owner, [complaints.pk])
        assert services.match_policy(ws, **facts) == complaints
        services.move_policy(owner, fallback, -5)
        assert services.match_policy(ws, **facts) == fallback
        services.delete_policy(owner, fallback)
        services.delete_policy(owner, complaints)
        services.delete_policy(owner, vip)
        assert services.match_policy(ws, **facts) is None


def test_targets_give_warning_and_due_instants(tenant):
    with tenant.scope():
        policy = services.create_policy(
            tenant.actors["owner"],
            name="P",
            first_response_minutes=60,
            resolution_minutes=600,
            warn_percent=50,
        )
        got = services.targets(policy, datetime(2026, 11, 23, 9, tzinfo=SH))
    # 50 % of 60 = 30 → 09:30; 60 → 10:00. 50 % of 600 = 300 → 09:00 + 180 (12:00) + 120 → 15:00; 600 → Mon
    # 480 (18:00) + 120 on Tue → 11:00.
    assert got == {
        "first_response_warn_at": datetime(2026, 11, 23, 9, 30, tzinfo=SH),
        "first_response_due_at": datetime(2026, 11, 23, 10, tzinfo=SH),
        "resolution_warn_at": datetime(2026, 11, 23, 15, tzinfo=SH),
        "resolution_due_at": datetime(2026, 11, 24, 11, tzinfo=SH),
    }


def test_policy_escalation_is_validated_and_kept_as_relations(tenant, other_tenant):
    owner = tenant.actors["owner"]
    manager = tenant.users["manager"]
    with tenant.scope():
        from kehu.workspaces.models import Team

        team = Team.objects.create(workspace=tenant.workspace, name="Support")
        policy = services.create_policy(
            owner,
            name="P",
            resolution_minutes=60,
            escalation={
                "notify": ["assignee", "team_manager", manager.pk],
                "reassign_to_user": manager.pk,
                "reassign_to_team": team.pk,
                "raise_priority": True,
            },
        )
        assert policy.escalation_config == {
            "notify": ["assignee", "team_manager", manager.pk],
            "reassign_to_user": manager.pk,
            "reassign_to_team": team.pk,
            "raise_priority": True,
        }
        stranger = other_tenant.users["sales"].pk
        with pytest.raises(ValidationFailed) as failed:
            services.update_policy(
                owner, policy, escalation={"notify": ["boss", stranger], "reassign_to_user": stranger}
            )
        assert {d.field for d in failed.value.details} == {"escalation.notify", "escalation.reassign_to_user"}


# --- API ---------------------------------------------------------------------------------------------------


def test_api_calendars_crud_holidays_and_preview(tenant):
    admin = tenant.api_client("admin")
    sales = tenant.api_client("sales")
    listed = sales.get("/api/v1/sla/calendars")
    assert listed.status_code == 200 and [c["is_default"] for c in listed.json()] == [True]
    created = post(admin, "/api/v1/sla/calendars", {"name": "New York", "time_zone": "America/New_York"})
    assert created.status_code == 201, created.json()
    cal = created.json()
    assert cal["weekly_hours"]["fri"] == [["09:00", "12:00"], ["13:00", "18:00"]] and cal["exceptions"] == []
    assert post(sales, "/api/v1/sla/calendars", {"name": "X"}).status_code == 403
    assert patch(sales, f"/api/v1/sla/calendars/{cal['id']}", {"name": "Y"}).status_code == 403
    bad = patch(admin, f"/api/v1/sla/calendars/{cal['id']}", {"weekly_hours": {"mon": [["9", "x"]]}})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "weekly_hours.mon"
    changed = patch(
        admin, f"/api/v1/sla/calendars/{cal['id']}", {"weekly_hours": {"sat": [["10:00", "14:00"]]}}
    )
    assert changed.status_code == 200 and changed.json()["weekly_hours"]["sat"] == [["10:00", "14:00"]]
    assert changed.json()["weekly_hours"]["mon"] == []  # the whole week is given: missing days close

    default_id = listed.json()[0]["id"]
    loaded = post(admin, f"/api/v1/sla/calendars/{default_id}/public-holidays", {"year": 2026})
    assert loaded.json() == {"created": 39, "unchanged": 0, "skipped": 0}
    assert (
        post(sales, f"/api/v1/sla/calendars/{default_id}/public-holidays", {"year": 2025}).status_code == 403
    )
    detail = sales.get(f"/api/v1/sla/calendars/{default_id}").json()
    assert len(detail["exceptions"]) == 39 and detail["exceptions"][0]["date"] == "2026-01-01"
    # Preview: Fri 2026-10-09 17:00 (+08:00) → Mon Oct 12 10:00 = 60 + 480 (Sat 调休) + 60 = 600;
    # start + 120 = 60 on Friday + 60 on Saturday → Sat 10:00.
    preview = sales.get(
        f"/api/v1/sla/calendars/{default_id}/preview",
        {"start": "2026-10-09T17:00:00+08:00", "end": "2026-10-12T10:00:00+08:00", "minutes": 120},
    )
    assert preview.status_code == 200, preview.json()
    assert preview.json()["minutes_between"] == 600
    assert datetime.fromisoformat(preview.json()["due_at"]) == datetime(2026, 10, 10, 10, tzinfo=SH)

    added = post(
        admin,
        f"/api/v1/sla/calendars/{cal['id']}/exceptions",
        {"date": "2026-12-25", "kind": "holiday", "name": "Christmas"},
    )
    assert added.status_code == 201 and added.json()["kind"] == "holiday"
    assert (
        admin.delete(f"/api/v1/sla/calendars/{cal['id']}/exceptions/{added.json()['id']}").status_code == 204
    )
    assert admin.delete(f"/api/v1/sla/calendars/{default_id}").status_code == 409
    assert admin.delete(f"/api/v1/sla/calendars/{cal['id']}").status_code == 204


def test_api_policies_crud_order_and_permissions(tenant):
    admin = tenant.api_client("admin")
    sales = tenant.api_client("sales")
    body = {
        "name": "Urgent",
        "conditions": {"priority": ["urgent"]},
        "first_response_minutes": 30,
        "resolution_minutes": 240,
        "escalation": {"notify": ["assignee"], "raise_priority": True},
    }
    created = post(admin, "/api/v1/sla/policies", body)
    assert created.status_code == 201, created.json()
    urgent = created.json()
    assert urgent["escalation"] == {
        "notify": ["assignee"],
        "reassign_to_user": None,
        "reassign_to_team": None,
        "raise_priority": True,
    }
    assert urgent["warn_percent"] == 80 and urgent["position"] == 0
    other = post(admin, "/api/v1/sla/policies", {"name": "All", "resolution_minutes": 960}).json()
    assert post(sales, "/api/v1/sla/policies", body).status_code == 403
    assert patch(sales, f"/api/v1/sla/policies/{urgent['id']}", {"name": "x"}).status_code == 403
    assert sales.delete(f"/api/v1/sla/policies/{urgent['id']}").status_code == 403
    bad = post(admin, "/api/v1/sla/policies", {"name": "Bad", "conditions": {"colour": ["red"]}})
    assert bad.status_code == 422
    ordered = post(admin, "/api/v1/sla/policies/order", {"ids": [other["id"]]}).json()
    assert [p["name"] for p in ordered] == ["All", "Urgent"]
    assert [p["name"] for p in sales.get("/api/v1/sla/policies").json()] == ["All", "Urgent"]
    changed = patch(admin, f"/api/v1/sla/policies/{urgent['id']}", {"warn_percent": 50, "active": False})
    assert (
        changed.status_code == 200 and changed.json()["warn_percent"] == 50 and not changed.json()["active"]
    )
    assert admin.delete(f"/api/v1/sla/policies/{urgent['id']}").status_code == 204
    assert sales.get(f"/api/v1/sla/policies/{urgent['id']}").status_code == 404


def test_api_isolation(tenant, other_tenant):
    admin = tenant.api_client("admin")
    with other_tenant.scope():
        calendar = services.default_calendar(other_tenant.workspace)
        policy = services.create_policy(other_tenant.actors["owner"], name="Theirs", resolution_minutes=60)
    assert admin.get(f"/api/v1/sla/calendars/{calendar.pk}").status_code == 404
    assert patch(admin, f"/api/v1/sla/calendars/{calendar.pk}", {"name": "Mine"}).status_code == 404
    assert (
        admin.get(
            f"/api/v1/sla/calendars/{calendar.pk}/preview", {"start": "2026-01-05T09:00:00+08:00"}
        ).status_code
        == 404
    )
    assert (
        post(admin, f"/api/v1/sla/calendars/{calendar.pk}/public-holidays", {"year": 2026}).status_code == 404
    )
    assert admin.get(f"/api/v1/sla/policies/{policy.pk}").status_code == 404
    assert patch(admin, f"/api/v1/sla/policies/{policy.pk}", {"name": "Mine"}).status_code == 404
    assert admin.delete(f"/api/v1/sla/policies/{policy.pk}").status_code == 404
    assert post(admin, "/api/v1/sla/policies/order", {"ids": [policy.pk]}).status_code == 404
    # Their calendar cannot be used for a policy here.
    bad = post(admin, "/api/v1/sla/policies", {"name": "X", "calendar_id": calendar.pk})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "calendar"
    assert [p["name"] for p in admin.get("/api/v1/sla/policies").json()] == []
    assert all(c["id"] != calendar.pk for c in admin.get("/api/v1/sla/calendars").json())
