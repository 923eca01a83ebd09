"""The settings pages: administrators only, calendar editing, holiday loading, the preview, policies."""

import pytest

from kehu.sla import services
from kehu.sla.models import BusinessCalendar, CalendarException, SlaPolicy

pytestmark = pytest.mark.django_db


def test_pages_are_for_administrators_only(tenant):
    sales = tenant.web_client("sales")
    for url in ("/settings/sla/", "/settings/sla/calendars/new/", "/settings/sla/policies/new/"):
        assert sales.get(url).status_code == 404
    page = tenant.web_client("admin").get("/settings/sla/")
    assert page.status_code == 200
    assert 'id="sla-policies"' in page.text and "Business hours" in page.text  # the default calendar
    assert 'id="nav-sla"' in page.text


def test_calendar_form_holidays_exceptions_and_preview(tenant):
    admin = tenant.web_client("admin")
    hours = {f"hours_{d}": "09:00-12:00, 13:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    bad = admin.post(
        "/settings/sla/calendars/new/",
        {"name": "Shanghai desk", "time_zone": "Asia/Shanghai", **hours, "hours_sat": "18:00-09:00"},
    )
    assert bad.status_code == 200 and "Enter intervals as HH:MM" in bad.text
    saved = admin.post(
        "/settings/sla/calendars/new/", {"name": "Shanghai desk", "time_zone": "Asia/Shanghai", **hours}
    )
    assert saved.status_code == 302
    with tenant.scope():
        calendar = BusinessCalendar.objects.get(name="Shanghai desk")
    assert (
        calendar.weekly_hours["wed"] == [["09:00", "12:00"], ["13:00", "18:00"]]
        and calendar.weekly_hours["sun"] == []
    )
    url = f"/settings/sla/calendars/{calendar.pk}/"
    assert admin.post(url + "holidays/", {"hol-year": "2026"}).status_code == 302
    assert admin.post(url + "holidays/", {"hol-year": "2026"}).status_code == 302  # idempotent
    with tenant.scope():
        assert CalendarException.objects.filter(calendar=calendar).count() == 39
    admin.post(
        url + "exceptions/",
        {"exc-date": "2026-12-24", "exc-kind": "workday", "exc-hours": "09:00-12:00", "exc-name": "Half day"},
    )
    with tenant.scope():
        half = CalendarException.objects.get(calendar=calendar, date="2026-12-24")
    assert half.hours == [["09:00", "12:00"]]
    page = admin.get(url)
    assert "国庆节调休上班" in page.text and "Half day" in page.text
    # Preview in the calendar's zone: Fri 2026-10-09 17:00 → Mon Oct 12 10:00
    # = 60 + 480 (Sat 调休) + 60 = 600;
    # start + 120 → Sat Oct 10 10:00.
    preview = admin.get(url, {"start": "2026-10-09T17:00", "end": "2026-10-12T10:00", "minutes": "120"})
    assert '<dd id="preview-minutes">600</dd>' in preview.text
    assert "2026-10-10 10:00" in preview.text
    assert admin.post(url + f"exceptions/{half.pk}/delete/").status_code == 302
    with tenant.scope():
        assert not CalendarException.objects.filter(pk=half.pk).exists()


def test_policy_form_and_reordering(tenant):
    admin = tenant.web_client("admin")
    with tenant.scope():
        calendar = services.default_calendar(tenant.workspace)
    manager = tenant.users["manager"]
    body = {
        "name": "Strategic urgent",
        "active": "on",
        "priority": ["urgent", "high"],
        "grade": ["strategic"],
        "category": "Billing, 退款",
        "first_response_minutes": "30",
        "resolution_minutes": "240",
        "calendar": str(calendar.pk),
        "warn_percent": "75",
        "notify_roles": ["assignee", "team_manager"],
        "notify_users": [str(manager.pk)],
        "reassign_to_user": str(manager.pk),
        "raise_priority": "on",
    }
    assert admin.get("/settings/sla/policies/new/").status_code == 200
    assert admin.post("/settings/sla/policies/new/", body).status_code == 302
    assert (
        admin.post(
            "/settings/sla/policies/new/",
            {**body, "name": "Everything", "priority": [], "grade": [], "category": ""},
        ).status_code
        == 302
    )
    with tenant.scope():
        first, second = SlaPolicy.objects.order_by("position")
        assert first.conditions == {
            "priority": ["urgent", "high"],
            "grade": ["strategic"],
            "category": ["Billing", "退款"],
        }
        assert first.escalation_config == {
            "notify": ["assignee", "team_manager", manager.pk],
            "reassign_to_user": manager.pk,
            "reassign_to_team": None,
            "raise_priority": True,
        }
        assert second.conditions == {}
    page = admin.get(f"/settings/sla/policies/{first.pk}/")
    assert page.status_code == 200 and 'value="Billing, 退款"' in page.text
    index = admin.get("/settings/sla/")
    assert "Strategic urgent" in index.text and "Every ticket" in index.text
    admin.post(f"/settings/sla/policies/{second.pk}/move/", {"direction": "up"})
    with tenant.scope():
        assert list(SlaPolicy.objects.order_by("position").values_list("name", flat=True)) == [
            "Everything",
            "Strategic urgent",
        ]
    assert admin.post(f"/settings/sla/policies/{first.pk}/delete/").status_code == 302
    with tenant.scope():
        assert SlaPolicy.objects.count() == 1


def test_other_workspace_pages_answer_404(tenant, other_tenant):
    with other_tenant.scope():
        calendar = services.default_calendar(other_tenant.workspace)
        policy = services.create_policy(other_tenant.actors["owner"], name="Theirs", resolution_minutes=60)
    admin = tenant.web_client("admin")
    assert admin.get(f"/settings/sla/calendars/{calendar.pk}/").status_code == 404
    assert admin.get(f"/settings/sla/policies/{policy.pk}/").status_code == 404
    assert admin.post(f"/settings/sla/policies/{policy.pk}/delete/").status_code == 404
    assert (
        admin.post(f"/settings/sla/calendars/{calendar.pk}/holidays/", {"hol-year": "2026"}).status_code
        == 404
    )
