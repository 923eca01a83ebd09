import json

import pytest

from kehu.leads import services
from kehu.leads.models import Lead


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def lead(tenant):
    with tenant.scope():
        return services.create_lead(tenant.actors["sales"], name="李雷", company="Acme", email="li@acme.cn")


def test_crud_and_duplicate_flag(tenant, lead):
    client = tenant.api_client("sales")
    created = _post(client, "/api/v1/leads", {"name": "Han Meimei", "email": "LI@acme.cn", "city": "上海"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["source"] == "api" and body["owner_id"] == tenant.users["sales"].pk
    assert body["possible_duplicates"] == [
        {"lead_id": lead.pk, "contact_id": None, "reason": "email", "similarity": 100}
    ]
    listed = client.get("/api/v1/leads?q=acme").json()["items"]
    assert [i["id"] for i in listed] == [lead.pk]
    changed = _patch(client, f"/api/v1/leads/{body['id']}", {"status": "contacted"})
    assert changed.json()["status"] == "contacted"
    bad = _patch(client, f"/api/v1/leads/{body['id']}", {"status": "disqualified", "nope": 1})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"nope"}
    bad = _patch(client, f"/api/v1/leads/{body['id']}", {"status": "disqualified"})
    assert [d["field"] for d in bad.json()["error"]["details"]] == ["disqualified_reason"]
    # sales may not delete (role matrix), admin may
    assert client.delete(f"/api/v1/leads/{body['id']}").status_code == 403
    assert tenant.api_client("admin").delete(f"/api/v1/leads/{body['id']}").status_code == 204


def test_permissions_per_role(tenant, lead):
    assert tenant.api_client("readonly").get(f"/api/v1/leads/{lead.pk}").status_code == 200
    assert _post(tenant.api_client("readonly"), "/api/v1/leads", {"name": "x"}).status_code == 403
    assert _post(tenant.api_client("service"), "/api/v1/leads", {"name": "x"}).status_code == 403
    # "own" scope: another sales person's lead is not found for the service role (scope own)
    assert tenant.api_client("service").get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert tenant.api_client("manager").get("/api/v1/lead-forms").status_code == 403
    assert tenant.api_client("admin").get("/api/v1/lead-forms").status_code == 200


def test_cross_workspace_is_404(tenant, other_tenant, lead):
    client = other_tenant.api_client("admin")
    assert client.get(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert _patch(client, f"/api/v1/leads/{lead.pk}", {"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/leads/{lead.pk}").status_code == 404
    assert _post(client, f"/api/v1/leads/{lead.pk}/convert", {}).status_code == 404
    assert _post(client, f"/api/v1/leads/{lead.pk}/assign", {}).status_code == 404
    assert client.get("/api/v1/leads").json()["items"] == []
    with tenant.scope():
        form = services.create_form(tenant.actors["admin"], name="Site")
        rule = services.create_rule(tenant.actors["admin"], name="R", user_id=tenant.users["sales"].pk)
    assert _patch(client, f"/api/v1/lead-forms/{form.pk}", {"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/lead-assignment-rules/{rule.pk}").status_code == 404


def test_bulk_is_all_or_nothing(tenant):
    client = tenant.api_client("sales")
    bad = _post(client, "/api/v1/leads/bulk", {"items": [{"name": "ok"}, {"name": "x", "email": "bad"}]})
    assert bad.status_code == 422
    assert [d["field"] for d in bad.json()["error"]["details"]] == ["items.1.email"]
    with tenant.scope():
        assert not Lead.objects.exists()
    ok = _post(client, "/api/v1/leads/bulk", {"items": [{"name": f"L{i}"} for i in range(3)]})
    assert ok.status_code == 201 and ok.json()["count"] == 3
    too_many = _post(client, "/api/v1/leads/bulk", {"items": [{"name": "x"}] * 1001})
    assert too_many.status_code == 422


def test_convert_endpoint_is_idempotent(tenant, lead):
    client = tenant.api_client("sales")
    refused = _post(client, f"/api/v1/leads/{lead.pk}/convert", {})
    assert refused.status_code == 409
    _patch(client, f"/api/v1/leads/{lead.pk}", {"status": "qualified"})
    first = _post(client, f"/api/v1/leads/{lead.pk}/convert", {})
    assert first.status_code == 200, first.content
    second = _post(client, f"/api/v1/leads/{lead.pk}/convert", {})
    assert second.json()["already_converted"] is True
    assert {k: second.json()[k] for k in ("account_id", "contact_id")} == {
        k: first.json()[k] for k in ("account_id", "contact_id")
    }
    detail = client.get(f"/api/v1/leads/{lead.pk}").json()
    assert detail["converted_contact_id"] == first.json()["contact_id"]


def test_rules_and_forms_admin_api(tenant):
    client = tenant.api_client("admin")
    rule = _post(
        client,
        "/api/v1/lead-assignment-rules",
        {
            "name": "East",
            "conditions": [{"field": "province", "value": "浙江"}],
            "user_id": tenant.users["sales"].pk,
        },
    )
    assert rule.status_code == 201, rule.content
    created = _post(tenant.api_client("manager"), "/api/v1/leads", {"name": "Z", "province": "浙江"}).json()
    assert (
        created["owner_id"] == tenant.users["sales"].pk
        and created["assigned_by_rule_id"] == rule.json()["id"]
    )
    form = _post(
        client,
        "/api/v1/lead-forms",
        {"name": "Site", "fields": ["name", "email"], "required_fields": ["email"]},
    )
    assert form.status_code == 201 and form.json()["url"].startswith("/f/")
    bad = _post(client, "/api/v1/lead-forms", {"name": "x", "fields": ["owner_id"]})
    assert bad.status_code == 422
