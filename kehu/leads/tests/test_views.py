import pytest

from kehu.activities.services import log_activity
from kehu.leads import services
from kehu.leads.models import AssignmentRule, Lead, WebForm


@pytest.fixture
def leads(tenant):
    with tenant.scope():
        actor = tenant.actors["admin"]
        first = services.create_lead(
            actor, name="王五", company="Acme", email="w5@acme.cn", status="qualified"
        )
        services.create_lead(actor, name="Dup", email="w5@acme.cn")
        log_activity(actor, kind="call", subject="First call", links=[("leads.lead", first.pk)])
        for i in range(10):
            services.create_lead(actor, name=f"Lead {i}", company=f"Co {i}")
    return first


def test_list_and_detail_render(tenant, leads, django_assert_max_num_queries):
    client = tenant.web_client("admin")
    with django_assert_max_num_queries(25):
        response = client.get("/leads/")
    assert response.status_code == 200 and "王五" in response.content.decode()
    detail = client.get(f"/leads/{leads.pk}/").content.decode()
    assert "First call" in detail and 'id="lead-convert"' in detail
    with tenant.scope():
        dup = Lead.objects.get(name="Dup")
    assert "Merge into existing lead" in client.get(f"/leads/{dup.pk}/").content.decode()
    assert client.get("/leads/?q=acme").status_code == 200


def test_create_edit_convert_through_pages(tenant, leads):
    client = tenant.web_client("sales")
    response = client.post("/leads/new/", {"name": "新线索", "source": "event", "status": "new"})
    assert response.status_code == 302
    with tenant.scope():
        lead = Lead.objects.get(name="新线索")
    bad = client.post(
        f"/leads/{lead.pk}/edit/", {"name": "新线索", "source": "event", "status": "disqualified"}
    )
    assert bad.status_code == 200 and "Say why the lead is disqualified." in bad.content.decode()
    client.post(
        f"/leads/{lead.pk}/edit/",
        {"name": "新线索", "source": "event", "status": "qualified", "company": "X"},
    )
    assert client.get(f"/leads/{lead.pk}/convert/").status_code == 200
    done = client.post(f"/leads/{lead.pk}/convert/", {})
    assert done.status_code == 302 and "/contacts/" in done["Location"]
    with tenant.scope():
        lead.refresh_from_db()
        assert lead.is_converted


def test_other_workspace_and_roles(tenant, other_tenant, leads):
    assert other_tenant.web_client("admin").get(f"/leads/{leads.pk}/").status_code == 404
    assert tenant.web_client("sales").get("/settings/leads/").status_code == 404
    assert tenant.web_client("readonly").get("/leads/new/").status_code == 403


def test_settings_pages_create_form_and_rule(tenant):
    client = tenant.web_client("admin")
    assert client.get("/settings/leads/").status_code == 200
    response = client.post(
        "/settings/leads/forms/new/",
        {
            "name": "Site",
            "fields": ["name", "email"],
            "required_fields": ["email"],
            "default_source": "web_form",
            "run_assignment": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with tenant.scope():
        form = WebForm.objects.get()
    page = client.get(f"/settings/leads/forms/{form.pk}/").content.decode()
    assert f"/f/{form.token}" in page and "website_url" in page
    response = client.post(
        "/settings/leads/rules/new/",
        {
            "name": "East",
            "user_id": tenant.users["sales"].pk,
            "sla_hours": 8,
            "is_active": "on",
            "condition_0_field": "province",
            "condition_0_value": "浙江, 江苏",
            "weights": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant.scope():
        rule = AssignmentRule.objects.get()
    assert rule.conditions == [{"field": "province", "op": "in", "value": ["浙江", "江苏"]}]
    assert client.get(f"/settings/leads/rules/{rule.pk}/").status_code == 200
