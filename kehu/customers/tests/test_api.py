"""Accounts and contacts over the REST API: CRUD, field errors, record access and isolation."""

import pytest
from django_scopes import scope

from kehu.audit.models import AuditEntry
from kehu.customers import services

pytestmark = pytest.mark.django_db


def test_create_read_update_delete_account(tenant):
    client = tenant.api_client("owner")
    created = client.post(
        "/api/v1/accounts",
        {"name": "深圳云帆科技", "phone": "0755 8888 6666", "city": "深圳"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    account = created.json()
    assert account["phone"] == "+8675588886666"
    assert account["owner_id"] == tenant.users["owner"].pk

    changed = client.patch(
        f"/api/v1/accounts/{account['id']}", {"city": "广州"}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["city"] == "广州"
    assert client.get(f"/api/v1/accounts/{account['id']}").json()["city"] == "广州"

    assert client.delete(f"/api/v1/accounts/{account['id']}").status_code == 204
    assert client.get(f"/api/v1/accounts/{account['id']}").status_code == 404
    with tenant.scope():
        actions = list(
            AuditEntry.objects.filter(object_type="customers.account", object_id=str(account["id"]))
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert actions == ["create", "update", "delete"]


def test_field_errors_use_the_error_shape(tenant):
    response = tenant.api_client("owner").post(
        "/api/v1/contacts", {"name": "Bad", "phone": "123", "email": "nope"}, content_type="application/json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {"phone", "email"}


def test_unknown_field_and_wrong_type_are_422(tenant):
    client = tenant.api_client("owner")
    unknown = client.post("/api/v1/accounts", {"name": "X", "colour": "red"}, content_type="application/json")
    wrong = client.post("/api/v1/accounts", {"name": ["X"]}, content_type="application/json")
    assert unknown.status_code == 422 and wrong.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "colour"


def test_sales_lists_only_own_and_gets_404_for_others(tenant):
    with tenant.scope():
        own = services.create_account(tenant.actors["sales"], name="Own")
        other = services.create_account(tenant.actors["owner"], name="Not mine")
    client = tenant.api_client("sales")
    listed = client.get("/api/v1/accounts").json()
    assert [a["id"] for a in listed["items"]] == [own.pk]
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            f"/api/v1/accounts/{other.pk}", {}, content_type="application/json"
        )
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    assert client.delete(f"/api/v1/accounts/{own.pk}").status_code == 403  # visible, but sales may not delete


def test_workspace_b_cannot_reach_workspace_a(tenant, other_tenant):
    with tenant.scope():
        account = services.create_account(tenant.actors["owner"], name="Acme secret", email="ceo@acme.test")
        contact = services.create_contact(tenant.actors["owner"], name="Secret person", account_id=account.pk)
    client = other_tenant.api_client("owner")
    assert client.get("/api/v1/accounts").json()["items"] == []
    assert client.get("/api/v1/accounts", {"q": "Acme"}).json()["items"] == []
    assert client.get("/api/v1/contacts", {"q": "ceo@acme.test"}).json()["items"] == []
    assert client.get(f"/api/v1/accounts/{account.pk}").status_code == 404
    assert client.get(f"/api/v1/contacts/{contact.pk}").status_code == 404
    assert (
        client.patch(
            f"/api/v1/accounts/{account.pk}", {"name": "pwned"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/contacts/{contact.pk}").status_code == 404
    # Linking a new contact to A's account from B is refused as an unknown account.
    linked = client.post(
        "/api/v1/contacts", {"name": "x", "account_id": account.pk}, content_type="application/json"
    )
    assert linked.status_code == 422
    with scope(workspace=tenant.workspace):
        account.refresh_from_db()
        assert account.name == "Acme secret"


def test_list_pages_through_everything_once(tenant):
    with tenant.scope():
        ids = {services.create_contact(tenant.actors["owner"], name=f"C{i}").pk for i in range(7)}
    client = tenant.api_client("owner")
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/contacts", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
