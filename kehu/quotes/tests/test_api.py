"""Quotes over the REST API: CRUD with nested lines, the actions, permissions and isolation."""

import pytest

from kehu.commerce.models import Order
from kehu.quotes import services
from kehu.quotes.models import Quote

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_crud_actions_and_totals(sale):
    client = sale.tenant.api_client("sales")
    created = client.post(
        "/api/v1/quotes", {"opportunity_id": sale.opp.pk, "terms": "30 天付款"}, content_type=JSON
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["version"] == 1 and len(body["lines"]) == 2
    assert body["total"] == "2099.900"
    pk = body["id"]

    patched = client.patch(
        f"/api/v1/quotes/{pk}",
        {
            "discount_percent": 2,
            "lines": [
                {"product_id": sale.widget.pk, "quantity": 3, "discount_percent": 10, "tax_rate": 13},
                {
                    "description": "实施服务",
                    "quantity": 2,
                    "unit_price": "1000",
                    "discount_percent": 5,
                    "tax_rate": 6,
                },
            ],
        },
        content_type=JSON,
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert [body[k] for k in ("subtotal", "discount_amount", "tax_amount", "total")] == [
        "1953.970",
        "39.080",
        "118.600",
        "2033.490",
    ]
    assert [line["gross_amount"] for line in body["lines"]] == ["59.770", "1973.720"]

    assert client.post(f"/api/v1/quotes/{pk}/send").json()["status"] == "sent"
    accepted = client.post(f"/api/v1/quotes/{pk}/accept")
    assert accepted.status_code == 200, accepted.content
    order_id = accepted.json()["order_id"]
    assert accepted.json()["status"] == "accepted" and order_id
    again = client.post(f"/api/v1/quotes/{pk}/accept")
    assert again.status_code == 200 and again.json()["order_id"] == order_id
    order = client.get(f"/api/v1/orders/{order_id}").json()
    assert order["total_amount"] == "2033.49" and order["status"] == "confirmed"
    assert client.get(f"/api/v1/opportunities/{sale.opp.pk}").json()["status"] == "won"

    refused = client.patch(f"/api/v1/quotes/{pk}", {"notes": "x"}, content_type=JSON)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {
            "field": "status",
            "message": refused.json()["error"]["details"][0]["message"],
            "code": "not_editable",
        }
    ]
    listed = client.get(f"/api/v1/quotes?opportunity_id={sale.opp.pk}&status=accepted").json()
    assert [q["id"] for q in listed["items"]] == [pk]


def test_revise_reject_and_bad_input(sale):
    client = sale.tenant.api_client("sales")
    pk = client.post("/api/v1/quotes", {"opportunity_id": sale.opp.pk}, content_type=JSON).json()["id"]
    bad = client.patch(
        f"/api/v1/quotes/{pk}",
        {"lines": [{"description": "x", "quantity": -2, "unit_price": 1, "discount_percent": 120}]},
        content_type=JSON,
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "lines.0.quantity",
        "lines.0.discount_percent",
    }
    unknown = client.patch(f"/api/v1/quotes/{pk}", {"colour": "red"}, content_type=JSON)
    assert unknown.status_code == 422
    draft_accept = client.post(f"/api/v1/quotes/{pk}/accept")
    assert draft_accept.status_code == 422
    assert draft_accept.json()["error"]["details"][0]["code"] == "invalid_transition"
    client.post(f"/api/v1/quotes/{pk}/send")
    assert client.post(f"/api/v1/quotes/{pk}/reject", {"reason": ""}, content_type=JSON).status_code == 422
    rejected = client.post(f"/api/v1/quotes/{pk}/reject", {"reason": "价格太高"}, content_type=JSON)
    assert rejected.json()["status"] == "rejected"
    revised = client.post(f"/api/v1/quotes/{pk}/revise")
    assert revised.status_code == 201 and revised.json()["version"] == 2
    assert client.get(f"/api/v1/quotes/{pk}").json()["is_current"] is False
    with sale.tenant.scope():
        assert Order.objects.count() == 0


def test_permissions_and_isolation(sale, other_tenant):
    sales = sale.tenant.api_client("sales")
    pk = sales.post("/api/v1/quotes", {"opportunity_id": sale.opp.pk}, content_type=JSON).json()["id"]
    readonly = sale.tenant.api_client("readonly")
    assert readonly.get(f"/api/v1/quotes/{pk}").status_code == 200
    assert (
        readonly.post("/api/v1/quotes", {"opportunity_id": sale.opp.pk}, content_type=JSON).status_code == 403
    )
    assert readonly.patch(f"/api/v1/quotes/{pk}", {"notes": "x"}, content_type=JSON).status_code == 403
    assert readonly.post(f"/api/v1/quotes/{pk}/send").status_code == 403
    assert sales.delete(f"/api/v1/quotes/{pk}").status_code == 403  # sales may not delete
    # service sees own sales records only: the sales persona's quote is invisible → 404
    assert sale.tenant.api_client("service").get(f"/api/v1/quotes/{pk}").status_code == 404

    stranger = other_tenant.api_client("owner")
    for method, path in (
        ("get", f"/api/v1/quotes/{pk}"),
        ("patch", f"/api/v1/quotes/{pk}"),
        ("delete", f"/api/v1/quotes/{pk}"),
        ("post", f"/api/v1/quotes/{pk}/send"),
        ("post", f"/api/v1/quotes/{pk}/accept"),
        ("post", f"/api/v1/quotes/{pk}/revise"),
    ):
        response = getattr(stranger, method)(path, {}, content_type=JSON)
        assert response.status_code == 404, (method, path, response.content)
    assert stranger.get("/api/v1/quotes").json()["items"] == []
    # An opportunity of another workspace cannot be quoted.
    foreign = stranger.post("/api/v1/quotes", {"opportunity_id": sale.opp.pk}, content_type=JSON)
    assert foreign.status_code == 422
    owner = sale.tenant.api_client("owner")
    assert owner.delete(f"/api/v1/quotes/{pk}").status_code == 204
    with sale.tenant.scope():
        assert not Quote.objects.exists()


def test_list_query_count_does_not_grow(sale):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = sale.tenant.api_client("sales")

    def count(n: int) -> int:
        with sale.tenant.scope():
            for _ in range(n):
                services.create_quote(sale.actor(), opportunity_id=sale.opp.pk)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/quotes?limit=50").status_code == 200
        return len([q for q in captured.captured_queries if "quotes_quote" in q["sql"]])

    assert count(2) == count(8) == 1  # one query for the page, whatever its size
