"""Commerce over the REST API: CRUD, nested lines, bulk, upsert, filters, permissions and isolation."""

from datetime import date

import pytest
from django_scopes import scope

from kehu.commerce import services
from kehu.commerce.models import Order
from kehu.customers import services as customers

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def foreign(other_tenant):
    """One record of each kind in another workspace."""
    with scope(workspace=other_tenant.workspace):
        owner = other_tenant.actors["owner"]
        account = customers.create_account(owner, name="Globex customer")
        return {
            "products": services.create_product(owner, sku="G", name="G", currency="USD"),
            "orders": services.create_order(owner, account_id=account.pk),
            "exchange-rates": services.create_rate(
                owner, currency="EUR", rate_to_base="1.1", valid_from=date(2025, 1, 1)
            ),
            "feedback": services.create_feedback(owner, account_id=account.pk, rating=3),
        }


def test_order_crud_with_nested_lines(shop):
    client = shop.tenant.api_client("sales")
    created = client.post(
        "/api/v1/orders",
        {
            "account_id": shop.account.pk,
            "currency": "USD",
            "order_date": "2025-08-01",
            "status": "confirmed",
            "lines": [
                {"sku": "G-1", "quantity": 3, "discount": "0.5"},
                {"description": "Freight", "quantity": 1, "unit_price": 12.345},
            ],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["total_amount"] == "311.85"  # 299.50 + 12.35 (12.345 half up)
    assert body["exchange_rate"] == "7.25000000" and body["base_total_amount"] == "2260.91"  # 311.85 × 7.25
    assert [line["line_total"] for line in body["lines"]] == ["299.50", "12.35"]

    changed = client.patch(
        f"/api/v1/orders/{body['id']}",
        {"status": "paid", "lines": [{"sku": "G-1", "quantity": 1}]},
        content_type=JSON,
    )
    assert changed.status_code == 200 and changed.json()["total_amount"] == "100.00"
    assert len(client.get(f"/api/v1/orders/{body['id']}").json()["lines"]) == 1
    refused = client.patch(f"/api/v1/orders/{body['id']}", {"status": "draft"}, content_type=JSON)
    assert (
        refused.status_code == 422 and refused.json()["error"]["details"][0]["code"] == "invalid_transition"
    )
    # sales may create and change but not delete (the default matrix)
    assert client.delete(f"/api/v1/orders/{body['id']}").status_code == 403
    assert shop.tenant.api_client("owner").delete(f"/api/v1/orders/{body['id']}").status_code == 204


def test_line_errors_have_paths_and_nothing_is_saved(shop):
    response = shop.tenant.api_client("sales").post(
        "/api/v1/orders",
        {
            "account_id": shop.account.pk,
            "lines": [
                {"sku": "W-1", "quantity": 1},
                {"sku": "W-1", "quantity": 0},
                {"sku": "NOPE", "quantity": 1},
                {"sku": "W-1", "quantity": 1, "colour": "red"},
            ],
        },
        content_type=JSON,
    )
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"lines.3.colour"}  # the schema rejects unknown fields before the service runs
    response = shop.tenant.api_client("sales").post(
        "/api/v1/orders",
        {
            "account_id": shop.account.pk,
            "lines": [
                {"sku": "W-1", "quantity": 1},
                {"sku": "W-1", "quantity": 0},
                {"sku": "NOPE", "quantity": 1},
            ],
        },
        content_type=JSON,
    )
    assert {d["field"] for d in response.json()["error"]["details"]} == {"lines.1.quantity", "lines.2.sku"}
    with shop.tenant.scope():
        assert not Order.objects.exists()


def test_bulk_create_all_or_nothing(shop):
    client = shop.tenant.api_client("sales")
    items = [
        {"account_id": shop.account.pk, "external_id": f"ERP-{i}", "lines": [{"sku": "W-1", "quantity": 1}]}
        for i in range(7)
    ]
    items[5]["lines"][0]["quantity"] = "-1"
    response = client.post("/api/v1/orders/bulk", {"items": items}, content_type=JSON)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["items.5.lines.0.quantity"]
    with shop.tenant.scope():
        assert not Order.objects.exists()
    items[5]["lines"][0]["quantity"] = 2
    response = client.post("/api/v1/orders/bulk", {"items": items}, content_type=JSON)
    assert response.status_code == 201 and response.json()["count"] == 7
    too_many = client.post("/api/v1/orders/bulk", {"items": [items[0]] * 1001}, content_type=JSON)
    assert too_many.status_code == 422 and too_many.json()["error"]["details"][0]["field"] == "items"


def test_upsert_by_external_id(shop):
    client = shop.tenant.api_client("sales")
    url = "/api/v1/orders/by-external-id/SHOP-1001"
    created = client.put(
        url, {"account_id": shop.account.pk, "total_amount": "88", "status": "paid"}, content_type=JSON
    )
    assert created.status_code == 201 and created.json()["external_id"] == "SHOP-1001"
    updated = client.put(url, {"status": "shipped", "notes": "tracking 123"}, content_type=JSON)
    assert updated.status_code == 200 and updated.json()["id"] == created.json()["id"]
    assert updated.json()["status"] == "shipped" and updated.json()["total_amount"] == "88.00"
    mismatch = client.put(url, {"external_id": "OTHER"}, content_type=JSON)
    assert mismatch.status_code == 422
    missing_account = client.put("/api/v1/orders/by-external-id/NEW", {"notes": "x"}, content_type=JSON)
    assert missing_account.status_code == 422
    assert missing_account.json()["error"]["details"][0]["field"] == "account_id"


def test_order_filters_and_record_access(shop):
    shop.order(status="paid", order_date=date(2025, 1, 10))
    shop.order(status="draft", order_date=date(2025, 3, 10))
    shop.order("owner", account_id=shop.other_account.pk, status="paid", order_date=date(2025, 2, 1))
    sales, owner = shop.tenant.api_client("sales"), shop.tenant.api_client("owner")
    assert len(sales.get("/api/v1/orders").json()["items"]) == 2  # only the rep's own orders
    assert len(owner.get("/api/v1/orders").json()["items"]) == 3
    paid = owner.get("/api/v1/orders", {"status": "paid", "date_from": "2025-01-15"}).json()["items"]
    assert [o["order_date"] for o in paid] == ["2025-02-01"]
    by_account = owner.get("/api/v1/orders", {"account_id": shop.account.pk, "date_to": "2025-02-01"}).json()
    assert [o["order_date"] for o in by_account["items"]] == ["2025-01-10"]
    hidden = owner.get("/api/v1/orders", {"account_id": shop.other_account.pk}).json()["items"][0]["id"]
    assert sales.get(f"/api/v1/orders/{hidden}").status_code == 404
    assert sales.patch(f"/api/v1/orders/{hidden}", {"notes": "x"}, content_type=JSON).status_code == 404


def test_360_includes_purchases_and_feedback(shop):
    shop.order(status="paid", total_amount="100", order_date=date(2025, 5, 1))
    body = shop.tenant.api_client("sales").get(f"/api/v1/accounts/{shop.account.pk}/360").json()
    assert body["panels"]["purchases"]["summary"]["revenue"] == "100.00"
    assert body["panels"]["purchases"]["latest_orders"][0]["number"] == "SO-000001"
    assert body["panels"]["feedback"]["summary"]["count"] == 0


def test_product_crud_and_permissions(shop):
    owner, sales, readonly = (shop.tenant.api_client(r) for r in ("owner", "sales", "readonly"))
    created = owner.post(
        "/api/v1/products", {"sku": "T-1", "name": "Tea", "unit_price": "35.5"}, content_type=JSON
    )
    assert created.status_code == 201 and created.json()["currency"] == "CNY"
    pid = created.json()["id"]
    assert (
        sales.patch(f"/api/v1/products/{pid}", {"active": False}, content_type=JSON).json()["active"] is False
    )
    assert readonly.get(f"/api/v1/products/{pid}").status_code == 200
    assert readonly.post("/api/v1/products", {"sku": "X", "name": "X"}, content_type=JSON).status_code == 403
    assert sales.delete(f"/api/v1/products/{pid}").status_code == 403
    duplicate = owner.post("/api/v1/products", {"sku": "T-1", "name": "Again"}, content_type=JSON)
    assert duplicate.status_code == 422 and duplicate.json()["error"]["details"][0]["field"] == "sku"
    names = [p["name"] for p in readonly.get("/api/v1/products", {"active": True}).json()["items"]]
    assert names == ["Gadget", "Widget"]
    assert owner.delete(f"/api/v1/products/{pid}").status_code == 204


def test_exchange_rate_crud_and_permissions(shop):
    admin, sales = shop.tenant.api_client("admin"), shop.tenant.api_client("sales")
    created = admin.post(
        "/api/v1/exchange-rates",
        {"currency": "GBP", "rate_to_base": "9.12345678", "valid_from": "2025-01-01"},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    assert sales.get(f"/api/v1/exchange-rates/{rid}").json()["rate_to_base"] == "9.12345678"
    assert (
        sales.patch(f"/api/v1/exchange-rates/{rid}", {"rate_to_base": 1}, content_type=JSON).status_code
        == 403
    )
    assert (
        admin.patch(f"/api/v1/exchange-rates/{rid}", {"rate_to_base": 9}, content_type=JSON).status_code
        == 200
    )
    on = sales.get("/api/v1/exchange-rates/on", {"currency": "usd", "day": "2025-06-30"}).json()
    assert on["rate_to_base"] == "7.10000000" and on["base_currency"] == "CNY"
    none = sales.get("/api/v1/exchange-rates/on", {"currency": "USD", "day": "2020-01-01"})
    assert none.status_code == 422 and none.json()["error"]["details"][0]["code"] == "no_exchange_rate"
    assert len(sales.get("/api/v1/exchange-rates", {"currency": "USD"}).json()["items"]) == 2
    assert admin.delete(f"/api/v1/exchange-rates/{rid}").status_code == 204


def test_feedback_crud_and_permissions(shop):
    service, sales = shop.tenant.api_client("service"), shop.tenant.api_client("sales")
    created = service.post(
        "/api/v1/feedback",
        {
            "account_id": shop.account.pk,
            "contact_id": shop.contact.pk,
            "rating": 2,
            "kind": "complaint",
            "channel": "wechat",
            "comment": "包装破损",
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    fid = created.json()["id"]
    assert service.patch(f"/api/v1/feedback/{fid}", {"rating": 3}, content_type=JSON).json()["rating"] == 3
    bad = service.post("/api/v1/feedback", {"account_id": shop.account.pk, "rating": 9}, content_type=JSON)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "rating"
    assert (
        sales.post(
            "/api/v1/feedback", {"account_id": shop.account.pk, "rating": 5}, content_type=JSON
        ).status_code
        == 403
    )
    assert sales.get(f"/api/v1/feedback/{fid}").status_code == 404  # sales sees only its own feedback
    listed = service.get("/api/v1/feedback", {"account_id": shop.account.pk, "kind": "complaint"}).json()
    assert [f["id"] for f in listed["items"]] == [fid]
    assert shop.tenant.api_client("owner").delete(f"/api/v1/feedback/{fid}").status_code == 204


@pytest.mark.parametrize("kind", ["products", "orders", "exchange-rates", "feedback"])
def test_other_workspaces_records_are_404(shop, foreign, kind):
    client = shop.tenant.api_client("owner")
    pk = foreign[kind].pk
    assert client.get(f"/api/v1/{kind}/{pk}").status_code == 404
    assert client.patch(f"/api/v1/{kind}/{pk}", {}, content_type=JSON).status_code == 404
    assert client.delete(f"/api/v1/{kind}/{pk}").status_code == 404
    assert all(item["id"] != pk for item in client.get(f"/api/v1/{kind}").json()["items"])


def test_other_workspaces_accounts_cannot_be_ordered_for(shop, other_tenant):
    with scope(workspace=other_tenant.workspace):
        account = customers.create_account(other_tenant.actors["owner"], name="Globex customer")
    response = shop.tenant.api_client("owner").post(
        "/api/v1/orders", {"account_id": account.pk}, content_type=JSON
    )
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "account_id"
    upsert = other_tenant.api_client("owner").put(
        "/api/v1/orders/by-external-id/X", {"account_id": shop.account.pk}, content_type=JSON
    )
    assert upsert.status_code == 422
