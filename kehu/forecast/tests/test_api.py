"""The forecast, report and sales-target endpoints: numbers, validation, permissions, isolation."""

import json

import pytest
from django_scopes import scopes_disabled

from kehu.forecast.models import SalesTarget


def get(client, url):
    response = client.get(url)
    return response.status_code, response.json()


def test_forecast_endpoint(tenant, sales_data):
    status, body = get(tenant.api_client("admin"), "/api/v1/forecast?period=2026-Q4")
    assert status == 200, body
    assert body["period"] == {
        "key": "2026-Q4",
        "kind": "quarter",
        "start": "2026-10-01",
        "end": "2026-12-31",
        "label": "Q4 2026",
    }
    total = body["total"]
    # The hand-computed figures of test_queries: pipeline 170,000, weighted 57,500, won 50,000 of 100,000.
    assert float(total["pipeline_amount"]) == 170000
    assert float(total["weighted_amount"]) == 57500
    assert float(total["won_amount"]) == 50000
    assert float(total["attainment"]) == 50.0
    assert body["currency"] == "CNY"
    assert {o["id"] for o in body["owners"]} == {tenant.users[k].pk for k in ("sales", "manager", "admin")}


def test_forecast_owner_filter_and_rep_scope(tenant, sales_data):
    s = tenant.users["sales"].pk
    status, body = get(tenant.api_client("admin"), f"/api/v1/forecast?period=2026-Q4&owner={s}")
    assert float(body["total"]["pipeline_amount"]) == 30000
    # A rep asking for someone else's numbers gets nothing (their scope is their own deals).
    m = tenant.users["manager"].pk
    status, body = get(tenant.api_client("sales"), f"/api/v1/forecast?period=2026-Q4&owner={m}")
    assert status == 200
    assert float(body["total"]["pipeline_amount"]) == 0 and body["owners"] == []
    status, body = get(tenant.api_client("sales"), "/api/v1/forecast?period=2026-Q4")
    assert float(body["total"]["won_amount"]) == 20000


def test_forecast_bad_period(tenant):
    status, body = get(tenant.api_client("admin"), "/api/v1/forecast?period=2026-Q5")
    assert status == 422
    assert body["error"]["details"][0]["field"] == "period"


def test_reports(tenant, sales_data):
    client = tenant.api_client("admin")
    status, funnel = get(client, "/api/v1/reports/funnel?from=2026-10-01&to=2026-12-31")
    assert status == 200, funnel
    assert [s["count"] for s in funnel["steps"]] == [8, 5, 3, 1]
    assert funnel["period"]["kind"] == "range"
    status, win = get(client, "/api/v1/reports/win-rate?period=2026-Q4")
    assert (win["won"], win["lost"], float(win["win_rate"])) == (3, 3, 50.0)
    assert float(win["cycle_median_days"]) == 91.0
    status, stages = get(
        client, f"/api/v1/reports/stage-conversion?period=2026-Q4&pipeline={sales_data['pipeline'].pk}"
    )
    assert status == 200, stages
    assert [s["reached"] for s in stages["stages"]] == [9, 6, 5, 3, 2, None]
    status, lost = get(client, "/api/v1/reports/lost-reasons?period=2026-Q4")
    assert [(r["reason"], r["count"]) for r in lost["reasons"]] == [("Price", 2), ("Timing", 1)]


def test_report_range_validation(tenant):
    client = tenant.api_client("admin")
    status, body = get(client, "/api/v1/reports/funnel?from=2026-12-31&to=2026-10-01")
    assert status == 422 and body["error"]["details"][0]["field"] == "to"
    status, body = get(client, "/api/v1/reports/win-rate?from=2026-10-01")
    assert status == 422 and body["error"]["details"][0]["field"] == "to"
    status, body = get(client, "/api/v1/reports/lost-reasons?from=2020-01-01&to=2026-01-01")
    assert status == 422


def test_reports_are_isolated_between_workspaces(tenant, other_tenant, sales_data):
    client = other_tenant.api_client("admin")
    status, body = get(client, "/api/v1/forecast?period=2026-Q4")
    assert status == 200 and float(body["total"]["pipeline_amount"]) == 0 and body["owners"] == []
    status, body = get(client, "/api/v1/reports/funnel?period=2026-Q4")
    assert [s["count"] for s in body["steps"]] == [0, 0, 0, 0]
    status, body = get(client, f"/api/v1/reports/stage-conversion?pipeline={sales_data['pipeline'].pk}")
    assert status == 404
    with scopes_disabled():
        target = SalesTarget.objects.filter(workspace=tenant.workspace).first()
    assert client.get(f"/api/v1/sales-targets/{target.pk}").status_code == 404
    assert (
        client.patch(
            f"/api/v1/sales-targets/{target.pk}", '{"amount": 1}', content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/sales-targets/{target.pk}").status_code == 404
    status, body = get(client, "/api/v1/sales-targets")
    assert body["items"] == []


def test_reports_need_a_key(db, client):
    assert client.get("/api/v1/forecast").status_code == 401
    assert client.get("/api/v1/reports/funnel").status_code == 401


def post(client, url, data):
    response = client.post(url, json.dumps(data), content_type="application/json")
    return response.status_code, response.json()


def test_targets_crud(tenant):
    client = tenant.api_client("admin")
    s = tenant.users["sales"].pk
    status, body = post(
        client, "/api/v1/sales-targets", {"owner_id": s, "period": "2026-Q4", "amount": "50000"}
    )
    assert status == 201, body
    assert (body["period"], body["kind"], body["start_date"], body["end_date"]) == (
        "2026-Q4",
        "quarter",
        "2026-10-01",
        "2026-12-31",
    )
    pk = body["id"]
    # Setting the same person and period again replaces the amount.
    status, again = post(
        client, "/api/v1/sales-targets", {"owner_id": s, "period": "2026-Q4", "amount": 60000}
    )
    assert again["id"] == pk and float(again["amount"]) == 60000
    response = client.patch(
        f"/api/v1/sales-targets/{pk}", '{"amount": 70000}', content_type="application/json"
    )
    assert response.status_code == 200 and float(response.json()["amount"]) == 70000
    status, listing = get(client, "/api/v1/sales-targets?period=2026-Q4")
    assert [t["id"] for t in listing["items"]] == [pk]
    assert get(client, "/api/v1/sales-targets?period=2027-Q1")[1]["items"] == []
    assert client.delete(f"/api/v1/sales-targets/{pk}").status_code == 204
    with tenant.scope():
        assert not SalesTarget.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"period": "2026-Q4", "amount": 1}, "owner_id"),  # neither user nor team
        ({"owner_id": 1, "team_id": 1, "period": "2026-Q4", "amount": 1}, "owner_id"),
        ({"owner_id": "SELF", "period": "2026-13", "amount": 1}, "period"),
        ({"owner_id": "SELF", "period": "2026-Q4", "amount": -5}, "amount"),
        ({"owner_id": "SELF", "period": "2026-Q4", "amount": 1, "extra": 1}, "extra"),
    ],
)
def test_target_validation(tenant, payload, field):
    payload = {k: (tenant.users["sales"].pk if v == "SELF" else v) for k, v in payload.items()}
    status, body = post(tenant.api_client("admin"), "/api/v1/sales-targets", payload)
    assert status == 422, body
    assert body["error"]["details"][0]["field"] == field
    with tenant.scope():
        assert not SalesTarget.objects.exists()


def test_target_for_a_stranger_is_refused(tenant, other_tenant):
    stranger = other_tenant.users["sales"].pk
    status, body = post(
        tenant.api_client("admin"),
        "/api/v1/sales-targets",
        {"owner_id": stranger, "period": "2026-Q4", "amount": 1},
    )
    assert status == 422 and body["error"]["details"][0]["field"] == "owner_id"


def test_target_permissions(tenant):
    from kehu.workspaces.models import Team

    with tenant.scope():
        team = Team.objects.create(workspace=tenant.workspace, name="East")
        team.members.set([tenant.users["sales"], tenant.users["manager"]])
    s, mk = tenant.users["sales"].pk, tenant.users["marketing"].pk
    # A rep sees their own quota but cannot set any.
    status, body = post(
        tenant.api_client("sales"), "/api/v1/sales-targets", {"owner_id": s, "period": "2026-Q4", "amount": 1}
    )
    assert status == 403
    # A manager sets targets for their team's people and the team, not for others.
    manager = tenant.api_client("manager")
    status, own_team = post(
        manager, "/api/v1/sales-targets", {"owner_id": s, "period": "2026-11", "amount": 100}
    )
    assert status == 201
    assert (
        post(manager, "/api/v1/sales-targets", {"team_id": team.pk, "period": "2026-Q4", "amount": 1})[0]
        == 201
    )
    assert (
        post(manager, "/api/v1/sales-targets", {"owner_id": mk, "period": "2026-Q4", "amount": 1})[0] == 403
    )
    admin_made = post(
        tenant.api_client("admin"),
        "/api/v1/sales-targets",
        {"owner_id": mk, "period": "2026-Q4", "amount": 1},
    )[1]
    # The manager cannot see (so cannot change) the marketing person's target: 404.
    assert manager.get(f"/api/v1/sales-targets/{admin_made['id']}").status_code == 404
    rep = tenant.api_client("sales")
    status, body = get(rep, "/api/v1/sales-targets")
    assert [t["owner_id"] for t in body["items"]] == [s]
    assert (
        rep.patch(
            f"/api/v1/sales-targets/{own_team['id']}", '{"amount": 5}', content_type="application/json"
        ).status_code
        == 403
    )
    assert rep.delete(f"/api/v1/sales-targets/{own_team['id']}").status_code == 403


def test_bulk_targets(tenant):
    client = tenant.api_client("admin")
    s, m = tenant.users["sales"].pk, tenant.users["manager"].pk
    items = [
        {"owner_id": u, "period": f"2026-{mo}", "amount": 1000 * mo} for u in (s, m) for mo in (10, 11, 12)
    ]
    status, body = post(client, "/api/v1/sales-targets/bulk", {"items": items})
    assert status == 200 and body == {"created": 6, "updated": 0, "deleted": 0}
    items = [
        {"owner_id": s, "period": "2026-10", "amount": None},  # removed
        {"owner_id": s, "period": "2026-11", "amount": 5},  # changed
        {"owner_id": s, "period": "2026-12", "amount": 12000},  # unchanged
    ]
    status, body = post(client, "/api/v1/sales-targets/bulk", {"items": items})
    assert body == {"created": 0, "updated": 1, "deleted": 1}
    # All or nothing: one bad item changes nothing and is named.
    bad = [{"owner_id": s, "period": "2026-11", "amount": 7}, {"owner_id": s, "period": "nope", "amount": 1}]
    status, body = post(client, "/api/v1/sales-targets/bulk", {"items": bad})
    assert status == 422 and body["error"]["details"][0]["field"] == "items.1.period"
    with tenant.scope():
        assert SalesTarget.objects.get(owner_id=s, start_date__month=11).amount == 5
        assert SalesTarget.objects.count() == 5
