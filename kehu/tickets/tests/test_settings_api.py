"""The REST endpoints of ticket categories and routing rules: reads, administrator-only writes through
the services the settings page uses, audited, rule order settable, cross-workspace 404."""

import json

import pytest

from kehu.audit.models import AuditEntry
from kehu.tickets import services
from kehu.tickets.models import RoutingRule, TicketCategory

from .conftest import make_team


def send(client, method, url, data=None):
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def admin(tenant):
    return tenant.api_client("admin")


# --- categories --------------------------------------------------------------------------------------


def test_category_crud_goes_through_the_services_and_is_audited(tenant, admin):
    first = send(admin, "post", "/api/v1/tickets/categories", {"name": "  物流  配送 ", "position": 5})
    assert first.status_code == 201, first.content
    assert first.json()["name"] == "物流 配送" and first.json()["position"] == 5
    second = send(admin, "post", "/api/v1/tickets/categories", {"name": "Billing"}).json()
    assert second["position"] == 6  # after the last one
    assert second["is_active"] is True

    changed = send(
        admin,
        "patch",
        f"/api/v1/tickets/categories/{second['id']}",
        {"name": "账单", "position": 0, "is_active": False},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json() | {"updated_at": None} == second | {
        "name": "账单",
        "position": 0,
        "is_active": False,
        "updated_at": None,
    }
    listed = admin.get("/api/v1/tickets/categories").json()
    assert [c["name"] for c in listed] == ["账单", "物流 配送"]
    active = admin.get("/api/v1/tickets/categories?active=true").json()
    assert [c["name"] for c in active] == ["物流 配送"]
    assert admin.get(f"/api/v1/tickets/categories/{second['id']}").json()["name"] == "账单"

    assert admin.delete(f"/api/v1/tickets/categories/{first.json()['id']}").status_code == 204
    with tenant.scope():
        assert list(TicketCategory.objects.values_list("name", flat=True)) == ["账单"]
        actions = list(
            AuditEntry.objects.filter(object_type="tickets.ticketcategory")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["create", "create", "update", "delete"]
        update = AuditEntry.objects.get(object_type="tickets.ticketcategory", action="update")
        assert update.changes["name"] == ["Billing", "账单"]
        assert update.changes["is_active"] == [True, False]


def test_category_validation(tenant, admin):
    send(admin, "post", "/api/v1/tickets/categories", {"name": "物流"})
    clash = send(admin, "post", "/api/v1/tickets/categories", {"name": " 物流"})
    assert clash.status_code == 422
    assert clash.json()["error"]["details"][0] == {
        "field": "name",
        "message": "A category with this name exists.",
        "code": "unique",
    }
    assert send(admin, "post", "/api/v1/tickets/categories", {"name": "  "}).status_code == 422
    negative = send(admin, "post", "/api/v1/tickets/categories", {"name": "x", "position": -1})
    assert negative.status_code == 422
    unknown = send(admin, "post", "/api/v1/tickets/categories", {"name": "x", "colour": "red"})
    assert unknown.json()["error"]["details"][0]["code"] == "extra_forbidden"


def test_category_reads_for_ticket_viewers_writes_for_administrators(tenant, admin):
    category = send(admin, "post", "/api/v1/tickets/categories", {"name": "物流"}).json()
    url = f"/api/v1/tickets/categories/{category['id']}"
    for role in ("service", "readonly", "sales"):
        client = tenant.api_client(role)
        assert client.get("/api/v1/tickets/categories").status_code == 200
        assert client.get(url).status_code == 200
        assert send(client, "post", "/api/v1/tickets/categories", {"name": "y"}).status_code == 403
        assert send(client, "patch", url, {"name": "y"}).status_code == 403
        assert client.delete(url).status_code == 403
    with tenant.scope():
        assert list(TicketCategory.objects.values_list("name", flat=True)) == ["物流"]


def test_categories_of_another_workspace_are_not_found(tenant, other_tenant, admin):
    category = send(admin, "post", "/api/v1/tickets/categories", {"name": "物流"}).json()
    url = f"/api/v1/tickets/categories/{category['id']}"
    stranger = other_tenant.api_client("admin")
    assert stranger.get("/api/v1/tickets/categories").json() == []
    assert stranger.get(url).status_code == 404
    assert send(stranger, "patch", url, {"name": "x"}).status_code == 404
    assert stranger.delete(url).status_code == 404
    with tenant.scope():
        assert TicketCategory.objects.get().name == "物流"


# --- routing rules -----------------------------------------------------------------------------------


def test_rule_crud_and_the_created_rule_routes_tickets(tenant, admin):
    team = make_team(tenant, "一线", "service")
    created = send(
        admin,
        "post",
        "/api/v1/tickets/routing-rules",
        {
            "name": "Email first line",
            "conditions": {"channel": ["email"], "keywords": ["快递", " 物流 "]},
            "team_id": team.pk,
            "assignment": "round_robin",
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["position"] == 0 and rule["is_active"] is True
    assert rule["conditions"] == {"channel": ["email"], "keywords": ["快递", "物流"]}
    assert (rule["team_id"], rule["assignment"], rule["user_id"]) == (team.pk, "round_robin", None)

    with tenant.scope():
        ticket = services.open_ticket(
            tenant.actors["owner"], subject="快递没到", description="", channel="email"
        )
    assert (ticket.team_id, ticket.owner_id) == (team.pk, tenant.users["service"].pk)
    assert admin.get(f"/api/v1/tickets/routing-rules/{rule['id']}").json()["last_assigned_id"] == (
        tenant.users["service"].pk
    )

    changed = send(
        admin,
        "patch",
        f"/api/v1/tickets/routing-rules/{rule['id']}",
        {"assignment": "user", "user_id": tenant.users["manager"].pk, "is_active": False},
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["assignment"], changed.json()["user_id"]) == ("user", tenant.users["manager"].pk)
    assert changed.json()["is_active"] is False
    assert changed.json()["conditions"] == rule["conditions"]  # not sent, not changed

    assert admin.delete(f"/api/v1/tickets/routing-rules/{rule['id']}").status_code == 204
    with tenant.scope():
        assert not RoutingRule.objects.exists()
        actions = list(
            AuditEntry.objects.filter(object_type="tickets.routingrule")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["create", "update", "delete"]


def test_rule_validation(tenant, admin):
    url = "/api/v1/tickets/routing-rules"
    no_team = send(admin, "post", url, {"name": "x", "assignment": "least_loaded"})
    assert no_team.status_code == 422
    assert no_team.json()["error"]["details"][0]["field"] == "team_id"
    no_agent = send(admin, "post", url, {"name": "x", "assignment": "user"})
    assert no_agent.json()["error"]["details"][0]["field"] == "user_id"
    bad = send(admin, "post", url, {"name": "x", "conditions": {"channel": ["fax"], "mood": ["x"]}})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"conditions.channel", "conditions.mood"}
    assert send(admin, "post", url, {"name": "x", "assignment": "random"}).status_code == 422
    assert (
        send(admin, "post", url, {"name": "x", "user_id": 999_999, "assignment": "user"}).status_code == 422
    )
    with tenant.scope():
        assert not RoutingRule.objects.exists()


def test_rule_order_decides_which_rule_routes(tenant, admin):
    first_line, vip = make_team(tenant, "一线", "service"), make_team(tenant, "VIP", "manager")
    general = send(
        admin,
        "post",
        "/api/v1/tickets/routing-rules",
        {"name": "All", "team_id": first_line.pk},
    ).json()
    special = send(
        admin,
        "post",
        "/api/v1/tickets/routing-rules",
        {"name": "Refunds", "conditions": {"keywords": ["退款"]}, "team_id": vip.pk},
    ).json()
    assert (general["position"], special["position"]) == (0, 1)

    def routed_team() -> int:
        with tenant.scope():
            return services.open_ticket(
                tenant.actors["owner"], subject="申请退款", description="", channel="web"
            ).team_id

    assert routed_team() == first_line.pk  # "All" comes first

    ordered = send(admin, "post", "/api/v1/tickets/routing-rules/order", {"ids": [special["id"]]})
    assert ordered.status_code == 200, ordered.content
    assert [(r["name"], r["position"]) for r in ordered.json()] == [("Refunds", 0), ("All", 1)]
    assert routed_team() == vip.pk

    # A position set directly works as well.
    send(admin, "patch", f"/api/v1/tickets/routing-rules/{general['id']}", {"position": 0})
    send(admin, "patch", f"/api/v1/tickets/routing-rules/{special['id']}", {"position": 5})
    assert [r["name"] for r in admin.get("/api/v1/tickets/routing-rules").json()] == ["All", "Refunds"]
    assert routed_team() == first_line.pk
    with tenant.scope():
        assert AuditEntry.objects.filter(object_type="tickets.routingrule", action="update").count() == 4


def test_rules_are_for_administrators_only(tenant, admin):
    rule = send(admin, "post", "/api/v1/tickets/routing-rules", {"name": "All"}).json()
    url = f"/api/v1/tickets/routing-rules/{rule['id']}"
    for role in ("service", "manager", "readonly"):
        client = tenant.api_client(role)
        assert client.get("/api/v1/tickets/routing-rules").status_code == 403
        assert client.get(url).status_code == 403
        assert send(client, "post", "/api/v1/tickets/routing-rules", {"name": "y"}).status_code == 403
        assert send(client, "patch", url, {"name": "y"}).status_code == 403
        assert send(client, "post", "/api/v1/tickets/routing-rules/order", {"ids": []}).status_code == 403
        assert client.delete(url).status_code == 403
    assert tenant.api_client("owner").get(url).status_code == 200
    with tenant.scope():
        assert RoutingRule.objects.get().name == "All"


def test_rules_of_another_workspace_are_not_found(tenant, other_tenant, admin):
    rule = send(admin, "post", "/api/v1/tickets/routing-rules", {"name": "All"}).json()
    url = f"/api/v1/tickets/routing-rules/{rule['id']}"
    stranger = other_tenant.api_client("admin")
    assert stranger.get("/api/v1/tickets/routing-rules").json() == []
    assert stranger.get(url).status_code == 404
    assert send(stranger, "patch", url, {"name": "x"}).status_code == 404
    assert stranger.delete(url).status_code == 404
    order = send(stranger, "post", "/api/v1/tickets/routing-rules/order", {"ids": [rule["id"]]})
    assert order.status_code == 404
    with tenant.scope():
        assert RoutingRule.objects.get().name == "All"


def test_another_workspaces_team_or_agent_is_refused(tenant, other_tenant, admin):
    team = make_team(other_tenant, "外部", "service")
    response = send(admin, "post", "/api/v1/tickets/routing-rules", {"name": "x", "team_id": team.pk})
    assert response.status_code == 422
    agent = other_tenant.users["service"].pk
    response = send(
        admin, "post", "/api/v1/tickets/routing-rules", {"name": "x", "assignment": "user", "user_id": agent}
    )
    assert response.status_code == 422
