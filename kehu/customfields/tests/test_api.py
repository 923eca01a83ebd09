"""The custom-field API: metadata, admin CRUD, values on accounts/contacts, filters, isolation."""

import json

import pytest
from django_scopes import scope

from kehu.customfields import services
from kehu.customfields.models import FieldDefinition

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def define(tenant, key, field_type, object_type=ACCOUNT, **extra):
    with tenant.scope():
        return services.create_definition(
            tenant.actors["owner"],
            object_type=object_type,
            key=key,
            label=key,
            field_type=field_type,
            **extra,
        )


def test_admin_crud_and_metadata(tenant):
    admin = tenant.api_client("admin")
    created = post(
        admin,
        "/api/v1/custom-fields",
        {
            "object_type": ACCOUNT,
            "key": "tier",
            "label": "Tier",
            "field_type": "single_select",
            "options": {
                "choices": [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]
            },
            "required": True,
            "help_text": "Service level",
        },
    )
    assert created.status_code == 201, created.json()
    field = created.json()
    assert field["key"] == "tier" and field["writable"] is True and field["position"] == 1

    listed = tenant.api_client("sales").get("/api/v1/custom-fields", {"object_type": ACCOUNT}).json()
    assert [(f["key"], f["field_type"], f["required"]) for f in listed] == [("tier", "single_select", True)]
    assert listed[0]["options"]["choices"][0] == {"value": "gold", "label": "Gold"}

    renamed = patch(admin, f"/api/v1/custom-fields/{field['id']}", {"label": "Service tier"})
    assert renamed.json()["label"] == "Service tier" and renamed.json()["key"] == "tier"
    archived = patch(admin, f"/api/v1/custom-fields/{field['id']}", {"archived": True})
    assert archived.json()["archived_at"] is not None
    assert tenant.api_client("sales").get("/api/v1/custom-fields").json() == []

    types = admin.get("/api/v1/custom-fields/object-types").json()
    assert {"customers.account", "customers.contact"} <= {t["key"] for t in types}


def test_non_admins_cannot_change_definitions(tenant):
    definition = define(tenant, "tier", "text")
    manager = tenant.api_client("manager")
    body = {"object_type": ACCOUNT, "key": "x", "label": "X", "field_type": "text"}
    assert post(manager, "/api/v1/custom-fields", body).status_code == 403
    assert patch(manager, f"/api/v1/custom-fields/{definition.pk}", {"label": "Y"}).status_code == 403
    assert manager.delete(f"/api/v1/custom-fields/{definition.pk}?confirm=true").status_code == 403
    assert manager.get("/api/v1/custom-field-exports").status_code == 403


def test_validation_errors_name_the_fields(tenant):
    response = post(
        tenant.api_client("owner"),
        "/api/v1/custom-fields",
        {"object_type": ACCOUNT, "key": "Bad Key", "label": "X", "field_type": "number", "extra": 1},
    )
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"extra"}
    response = post(
        tenant.api_client("owner"),
        "/api/v1/custom-fields",
        {"object_type": ACCOUNT, "key": "Bad Key", "label": "X", "field_type": "number", "default": "x"},
    )
    assert {d["field"] for d in response.json()["error"]["details"]} == {"key"}


def test_delete_needs_confirmation_and_keeps_an_export(tenant):
    definition = define(tenant, "legacy", "text")
    owner = tenant.api_client("owner")
    created = post(owner, "/api/v1/accounts", {"name": "A", "custom": {"legacy": "L-1"}}).json()
    refused = owner.delete(f"/api/v1/custom-fields/{definition.pk}")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "confirmation_required"
    deleted = owner.delete(f"/api/v1/custom-fields/{definition.pk}?confirm=true")
    assert deleted.status_code == 200
    export = deleted.json()["export"]
    assert export["count"] == 1 and export["key"] == "legacy"
    detail = owner.get(f"/api/v1/custom-field-exports/{export['id']}").json()
    assert detail["values"] == {str(created["id"]): "L-1"}
    assert owner.get(f"/api/v1/accounts/{created['id']}").json()["custom"] == {}


def test_account_values_in_and_out_with_field_errors(tenant):
    define(tenant, "seats", "number", validation={"min": 1})
    define(tenant, "renewal", "date")
    client = tenant.api_client("sales")
    bad = post(client, "/api/v1/accounts", {"name": "A", "custom": {"seats": 0, "renewal": "soon", "x": 1}})
    assert bad.status_code == 422
    assert {d["field"]: d["code"] for d in bad.json()["error"]["details"]} == {
        "custom.seats": "min",
        "custom.renewal": "type",
        "custom.x": "unknown",
    }
    created = post(client, "/api/v1/accounts", {"name": "A", "custom": {"seats": "20"}})
    assert created.status_code == 201 and created.json()["custom"] == {"seats": 20}
    pk = created.json()["id"]
    changed = patch(client, f"/api/v1/accounts/{pk}", {"custom": {"renewal": "2027-01-31"}})
    assert changed.json()["custom"] == {"seats": 20, "renewal": "2027-01-31"}
    assert client.get("/api/v1/accounts").json()["items"][0]["custom"] == {
        "seats": 20,
        "renewal": "2027-01-31",
    }


def test_contacts_carry_custom_values_too(tenant):
    define(tenant, "wechat_group", "text", object_type="customers.contact")
    client = tenant.api_client("sales")
    created = post(client, "/api/v1/contacts", {"name": "张伟", "custom": {"wechat_group": "VIP 群"}})
    assert created.status_code == 201 and created.json()["custom"] == {"wechat_group": "VIP 群"}
    listed = client.get("/api/v1/contacts", {"custom.wechat_group__contains": "vip"}).json()
    assert [c["name"] for c in listed["items"]] == ["张伟"]


def test_hidden_fields_are_neither_readable_nor_writable(tenant):
    define(tenant, "margin", "percent", visible_to_roles=["manager"])
    define(tenant, "tier", "text")
    owner = tenant.api_client("owner")
    created = post(
        owner,
        "/api/v1/accounts",
        {"name": "A", "owner_id": tenant.users["sales"].pk, "custom": {"margin": 30, "tier": "gold"}},
    ).json()
    sales = tenant.api_client("sales")
    seen = sales.get(f"/api/v1/accounts/{created['id']}").json()
    assert seen["custom"] == {"tier": "gold"}
    assert sales.get("/api/v1/accounts").json()["items"][0]["custom"] == {"tier": "gold"}
    assert sales.get(f"/api/v1/accounts/{created['id']}/360").json()["account"]["custom"] == {"tier": "gold"}
    refused = patch(sales, f"/api/v1/accounts/{created['id']}", {"custom": {"margin": 1}})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "custom.margin"
    assert sales.get("/api/v1/custom-fields").json()[0]["key"] == "tier"
    assert sales.get("/api/v1/accounts", {"custom.margin": "30"}).status_code == 422
    # The hidden value survived sales' own changes.
    assert patch(sales, f"/api/v1/accounts/{created['id']}", {"custom": {"tier": "x"}}).status_code == 200
    assert owner.get(f"/api/v1/accounts/{created['id']}").json()["custom"] == {"margin": 30, "tier": "x"}


def test_list_filters_by_custom_fields(tenant):
    define(tenant, "seats", "number")
    define(tenant, "tier", "single_select", options={"choices": ["gold", "silver"]})
    client = tenant.api_client("owner")
    for name, custom in (
        ("A", {"seats": 5, "tier": "gold"}),
        ("B", {"seats": 50, "tier": "silver"}),
        ("C", {}),
    ):
        post(client, "/api/v1/accounts", {"name": name, "custom": custom})

    def names(params):
        response = client.get("/api/v1/accounts", params)
        assert response.status_code == 200, response.json()
        return sorted(a["name"] for a in response.json()["items"])

    assert names({"custom.seats__gte": "10"}) == ["B"]
    assert names({"custom.tier": "gold"}) == ["A"]
    assert names({"custom.seats__lt": "100", "custom.tier__ne": "gold"}) == ["B"]
    assert names({"custom.seats__isnull": "true"}) == ["C"]
    bad = client.get("/api/v1/accounts", {"custom.seats__gte": "many", "custom.nope": "1"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"custom.seats", "custom.nope"}


def test_other_workspaces_definitions_are_invisible(tenant, other_tenant):
    with scope(workspace=other_tenant.workspace):
        foreign = services.create_definition(
            other_tenant.actors["owner"], object_type=ACCOUNT, key="secret", label="S", field_type="text"
        )
    owner = tenant.api_client("owner")
    assert owner.get("/api/v1/custom-fields").json() == []
    assert owner.get(f"/api/v1/custom-fields/{foreign.pk}").status_code == 404
    assert patch(owner, f"/api/v1/custom-fields/{foreign.pk}", {"label": "x"}).status_code == 404
    assert owner.delete(f"/api/v1/custom-fields/{foreign.pk}?confirm=true").status_code == 404
    # Its key is unknown here, for values and for filters alike.
    assert post(owner, "/api/v1/accounts", {"name": "A", "custom": {"secret": "x"}}).status_code == 422
    assert owner.get("/api/v1/accounts", {"custom.secret": "x"}).status_code == 422
    with scope(workspace=other_tenant.workspace):
        assert FieldDefinition.objects.filter(pk=foreign.pk, label="S").exists()


def test_openapi_documents_custom_and_the_metadata_endpoint(tenant):
    schema = tenant.api_client("owner").get("/api/v1/openapi.json").json()
    assert "/api/v1/custom-fields" in schema["paths"]
    account_in = schema["components"]["schemas"]["AccountIn"]["properties"]["custom"]
    assert "custom-fields" in json.dumps(account_in)
    account_out = schema["components"]["schemas"]["AccountOut"]["properties"]["custom"]
    assert account_out["type"] == "object" and "custom-fields" in account_out["description"]
