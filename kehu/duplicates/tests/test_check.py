"""Create/edit checks (warn and block) through services, API and pages; rules admin; isolation."""

import json

import pytest

from kehu.core.errors import ValidationFailed
from kehu.customers import services as customers
from kehu.duplicates import rules
from kehu.duplicates.finder import find_duplicates
from kehu.duplicates.models import MatchRule
from kehu.leads import services as leads


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_find_duplicates_by_each_way(tenant, wang):
    ws = tenant.workspace
    with tenant.scope():
        by_email = find_duplicates(ws, "customers.contact", {"name": "X", "email": "WANG.WEI@xingchen.cn"})
        by_phone = find_duplicates(ws, "customers.contact", {"name": "X", "phone": "+86 139-0013-9000"})
        by_name = find_duplicates(
            ws, "customers.contact", {"name": "Wei Wang", "company": "星辰科技", "city": "Shanghai"}
        )
        nothing = find_duplicates(ws, "customers.contact", {"name": "Wei Wang", "company": "Northwind"})
        myself = find_duplicates(ws, "customers.contact", {"name": "王伟", "email": wang.email}, wang.pk)
    assert [(m.record_id, m.matched_fields) for m in by_email] == [(wang.pk, ["email"])]
    assert [(m.record_id, m.score) for m in by_phone] == [(wang.pk, 100)]
    assert by_name[0].record_id == wang.pk and set(by_name[0].matched_fields) >= {"name", "company", "city"}
    assert nothing == [] and myself == []


def test_default_rules_are_created_lazily_per_workspace(tenant, other_tenant):
    with tenant.scope():
        assert not MatchRule.objects.exists()
        assert [r.name for r in rules.rules_of(tenant.workspace, "customers.account")][:2] == [
            "Same email",
            "Same phone",
        ]
    with other_tenant.scope():
        assert not MatchRule.objects.exists()


def test_api_create_warns_with_possible_duplicates(tenant, wang):
    client = tenant.api_client("admin")
    response = _post(client, "/api/v1/contacts", {"name": "Wang Wei", "email": "wang.wei@XINGCHEN.cn"})
    assert response.status_code == 201
    found = response.json()["possible_duplicates"]
    assert [(d["id"], d["action"], d["matched_fields"]) for d in found] == [(wang.pk, "warn", ["email"])]
    # an edit that changes nothing relevant is not checked again
    new_id = response.json()["id"]
    patched = client.patch(
        f"/api/v1/contacts/{new_id}", json.dumps({"job_title": "CTO"}), content_type="application/json"
    )
    assert patched.json()["possible_duplicates"] == []


def test_block_rule_refuses_create_and_edit(tenant, wang):
    admin = tenant.actors["admin"]
    with tenant.scope():
        rule = rules.rules_of(tenant.workspace, "customers.contact")[1]  # Same phone
        rules.update_rule(admin, rule, action="block")
        other = customers.create_contact(admin, name="Li Na", phone="13800138000")
    client = tenant.api_client("admin")
    response = _post(client, "/api/v1/contacts", {"name": "Someone", "phone": "139 0013 9000"})
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["code"] == "duplicate" and detail["field"] == "phone" and f"#{wang.pk}" in detail["message"]
    response = client.patch(
        f"/api/v1/contacts/{other.pk}", json.dumps({"phone": "13900139000"}), content_type="application/json"
    )
    assert response.status_code == 422
    with tenant.scope():
        other.refresh_from_db()
        assert other.phone == "+8613800138000"


def test_block_does_not_name_a_record_the_user_may_not_see(tenant, wang):
    with tenant.scope():
        rule = rules.rules_of(tenant.workspace, "customers.contact")[0]
        rules.update_rule(tenant.actors["admin"], rule, action="block")
        with pytest.raises(ValidationFailed) as failed:
            customers.create_contact(tenant.actors["sales"], name="X", email=wang.email)
    assert "王伟" not in failed.value.details[0].message


def test_web_form_shows_the_block_and_record_page_the_warning(tenant, wang):
    client = tenant.web_client("admin")
    page = client.get(f"/contacts/{wang.pk}/")
    assert page.status_code == 200
    with tenant.scope():
        twin = customers.create_contact(tenant.actors["admin"], name="Wang Wei", email="wang.wei@xingchen.cn")
        rules.update_rule(
            tenant.actors["admin"], rules.rules_of(tenant.workspace, "customers.contact")[0], action="block"
        )
    page = client.get(f"/contacts/{twin.pk}/")
    assert "Possible duplicates" in page.content.decode() and f"#{wang.pk}" in page.content.decode()
    response = client.post("/contacts/new/", {"name": "W", "email": "wang.wei@xingchen.cn"})
    assert response.status_code == 200 and "Duplicate of" in response.content.decode()


def test_leads_use_the_matcher_and_block(tenant, wang):
    admin = tenant.actors["admin"]
    with tenant.scope():
        lead = leads.create_lead(admin, name="Wang Wei", company="星辰科技", city="上海")
        flags = list(lead.duplicates.values_list("other_contact_id", "reason"))
        assert flags == [(wang.pk, "name_company")]
        rules.update_rule(admin, rules.rules_of(tenant.workspace, "leads.lead")[0], action="block")
        with pytest.raises(ValidationFailed):
            leads.create_lead(admin, name="Other", email="WANG.wei@xingchen.cn")


def test_rules_api_admin_only_and_validated(tenant):
    admin, sales = tenant.api_client("admin"), tenant.api_client("sales")
    body = {
        "object_type": "customers.account",
        "name": "Same tax number",
        "kind": "exact",
        "fields": [{"field": "custom.tax_no"}],
        "action": "block",
    }
    assert _post(sales, "/api/v1/duplicates/rules", body).status_code == 403
    created = _post(admin, "/api/v1/duplicates/rules", body)
    assert created.status_code == 201 and created.json()["fields"][0]["field"] == "custom.tax_no"
    bad = _post(admin, "/api/v1/duplicates/rules", {**body, "fields": [{"field": "shoe_size"}]})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "fields.0.field"
    listed = admin.get("/api/v1/duplicates/rules?object_type=customers.account").json()
    assert [r["name"] for r in listed][-1] == "Same tax number"
    rule_id = created.json()["id"]
    assert (
        sales.patch(f"/api/v1/duplicates/rules/{rule_id}", "{}", content_type="application/json").status_code
        == 403
    )


def test_cross_workspace_isolation_of_rules_and_check(tenant, other_tenant, wang):
    other = other_tenant.api_client("admin")
    rule_id = (
        tenant.api_client("admin")
        .get("/api/v1/duplicates/rules?object_type=customers.contact")
        .json()[0]["id"]
    )
    assert (
        other.patch(
            f"/api/v1/duplicates/rules/{rule_id}", '{"name": "x"}', content_type="application/json"
        ).status_code
        == 404
    )
    assert other.delete(f"/api/v1/duplicates/rules/{rule_id}").status_code == 404
    found = _post(
        other,
        "/api/v1/duplicates/check",
        {"object_type": "customers.contact", "fields": {"email": wang.email}},
    )
    assert found.status_code == 200 and found.json() == []
