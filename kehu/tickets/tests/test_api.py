"""The tickets REST API: create, list (keyset, filters), detail, update, entries, status, assign, complaint
report; permissions and cross-workspace isolation."""

import json

import pytest

from kehu.customers import services as customers
from kehu.tickets import services


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def ticket(tenant):
    with tenant.scope():
        return services.open_ticket(
            tenant.actors["service"],
            subject="Cannot log in",
            description="Reset mail missing",
            channel="email",
        )


def test_create_matches_the_sender_and_returns_the_ticket(tenant):
    with tenant.scope():
        contact = customers.create_contact(tenant.actors["owner"], name="Zhou", email="zhou@c.cn")
    client = tenant.api_client("service")
    response = post(
        client,
        "/api/v1/tickets",
        {
            "subject": "退款",
            "description": "请退款",
            "sender_email": "zhou@c.cn",
            "priority": "high",
            "tags": ["vip"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 1 and body["reference"] == "[#1]" and body["channel"] == "api"
    assert body["contact_id"] == contact.pk and body["tags"] == ["vip"] and body["sla"] == ""


def test_create_rejects_unknown_fields_and_bad_choices(tenant):
    client = tenant.api_client("service")
    response = post(client, "/api/v1/tickets", {"subject": "x", "status": "closed"})
    assert response.status_code == 422
    response = post(client, "/api/v1/tickets", {"subject": "x", "priority": "asap"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "priority"


def test_sales_may_not_create_and_sees_only_own_tickets(tenant, ticket):
    client = tenant.api_client("sales")
    assert post(client, "/api/v1/tickets", {"subject": "x"}).status_code == 403
    assert client.get("/api/v1/tickets").json()["items"] == []
    assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404


def test_list_keyset_pages_and_filters(tenant):
    actor = tenant.actors["service"]
    with tenant.scope():
        for i in range(5):
            services.open_ticket(
                actor, subject=f"T{i}", description="", channel="phone", priority="urgent" if i % 2 else "low"
            )
    client = tenant.api_client("service")
    first = client.get("/api/v1/tickets?limit=2").json()
    assert [t["subject"] for t in first["items"]] == ["T4", "T3"] and first["next_cursor"]
    second = client.get(f"/api/v1/tickets?limit=2&cursor={first['next_cursor']}").json()
    assert [t["subject"] for t in second["items"]] == ["T2", "T1"]
    urgent = client.get("/api/v1/tickets?priority=urgent").json()["items"]
    assert {t["subject"] for t in urgent} == {"T1", "T3"}
    assert [t["number"] for t in client.get("/api/v1/tickets?q=%233").json()["items"]] == [3]
    assert len(client.get("/api/v1/tickets?unassigned=true").json()["items"]) == 5
    spec = json.dumps({"op": "and", "conditions": [{"field": "priority", "lookup": "eq", "value": "low"}]})
    assert len(client.get("/api/v1/tickets", {"filters": spec}).json()["items"]) == 3
    assert client.get("/api/v1/tickets?sla=breached").json()["items"] == []
    assert client.get("/api/v1/tickets?sla=bogus").status_code == 422


def test_list_query_count_does_not_grow_with_rows(tenant, django_assert_max_num_queries):
    actor = tenant.actors["service"]
    with tenant.scope():
        for i in range(12):
            services.open_ticket(actor, subject=f"T{i}", description="", channel="phone")
    client = tenant.api_client("service")
    client.get("/api/v1/tickets")  # warm the key lookup caches
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/tickets?limit=50")
    assert len(response.json()["items"]) == 12


def test_detail_update_and_cross_workspace_404(tenant, other_tenant, ticket):
    client = tenant.api_client("service")
    body = client.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert body["subject"] == "Cannot log in" and body["status"] == "new"
    response = patch(
        client,
        f"/api/v1/tickets/{ticket.pk}",
        {"type": "complaint", "severity": "major", "compensation_amount": "99.90"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["compensation_amount"] == "99.90" and response.json()["type"] == "complaint"
    foreign = other_tenant.api_client("owner")
    assert foreign.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    assert patch(foreign, f"/api/v1/tickets/{ticket.pk}", {"subject": "x"}).status_code == 404
    assert post(foreign, f"/api/v1/tickets/{ticket.pk}/status", {"status": "resolved"}).status_code == 404
    assert post(foreign, f"/api/v1/tickets/{ticket.pk}/entries", {"body": "x"}).status_code == 404
    assert post(foreign, f"/api/v1/tickets/{ticket.pk}/assign", {}).status_code == 404
    assert foreign.get(f"/api/v1/tickets/{ticket.pk}/entries").status_code == 404


def test_readonly_may_read_but_not_change(tenant, ticket):
    client = tenant.api_client("readonly")
    assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert patch(client, f"/api/v1/tickets/{ticket.pk}", {"subject": "x"}).status_code == 403
    assert post(client, f"/api/v1/tickets/{ticket.pk}/entries", {"body": "x"}).status_code == 403
    assert post(client, f"/api/v1/tickets/{ticket.pk}/status", {"status": "resolved"}).status_code == 403


def test_entries_reply_note_customer_and_status(tenant, ticket):
    client = tenant.api_client("service")
    reply = post(client, f"/api/v1/tickets/{ticket.pk}/entries", {"body": "Try again", "status": "pending"})
    assert reply.status_code == 201 and reply.json()["kind"] == "reply"
    note = post(client, f"/api/v1/tickets/{ticket.pk}/entries", {"body": "VIP", "kind": "note"})
    assert note.json()["kind"] == "note"
    customer = post(
        client,
        f"/api/v1/tickets/{ticket.pk}/entries",
        {"body": "Works now", "kind": "customer", "message_id": "<m@x>"},
    )
    assert customer.json()["message_id"] == "m@x"
    assert (
        post(client, f"/api/v1/tickets/{ticket.pk}/entries", {"body": "x", "kind": "shout"}).status_code
        == 422
    )
    kinds = [e["kind"] for e in client.get(f"/api/v1/tickets/{ticket.pk}/entries").json()["items"]]
    assert kinds == ["customer", "reply", "note", "customer"]
    public = client.get(f"/api/v1/tickets/{ticket.pk}/entries?public_only=true").json()["items"]
    assert "note" not in [e["kind"] for e in public]
    detail = client.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["status"] == "open" and detail["first_responded_at"]
    status = post(client, f"/api/v1/tickets/{ticket.pk}/status", {"status": "resolved", "reason": "done"})
    assert status.json()["status"] == "resolved"
    bad = post(client, f"/api/v1/tickets/{ticket.pk}/status", {"status": "on_hold"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["code"] == "invalid_transition"


def test_assign(tenant, ticket):
    client = tenant.api_client("service")
    user = tenant.users["manager"]
    response = post(client, f"/api/v1/tickets/{ticket.pk}/assign", {"owner_id": user.pk})
    assert response.status_code == 200 and response.json()["owner_id"] == user.pk
    assert post(client, f"/api/v1/tickets/{ticket.pk}/assign", {"owner_id": 10**9}).status_code == 422


def test_complaint_report(tenant, other_tenant):
    actor = tenant.actors["service"]
    with tenant.scope():
        for cause, amount in (("delivery", "50"), ("delivery", "30.5"), ("billing", "100")):
            services.open_ticket(
                actor,
                subject="投诉",
                description="",
                channel="phone",
                type="complaint",
                root_cause=cause,
                compensation_amount=amount,
                outcome="upheld",
            )
        services.open_ticket(actor, subject="inquiry", description="", channel="phone")
    with other_tenant.scope():
        services.open_ticket(
            other_tenant.actors["owner"],
            subject="x",
            description="",
            channel="phone",
            type="complaint",
            root_cause="delivery",
            compensation_amount="999",
        )
    report = tenant.api_client("service").get("/api/v1/tickets/complaints/report").json()
    assert report["total"] == 3 and report["compensation"] == "180.50"
    causes = {r["key"]: (r["count"], r["compensation"]) for r in report["by_root_cause"]}
    assert causes == {"delivery": (2, "80.50"), "billing": (1, "100.00")}
    assert report["by_outcome"][0]["count"] == 3
    assert tenant.api_client("sales").get("/api/v1/tickets/complaints/report").json()["total"] == 0
    assert tenant.api_client("marketing").get("/api/v1/tickets/complaints/report").status_code == 403
