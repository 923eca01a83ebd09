"""/api/v1/reports and /api/v1/dashboards: CRUD, run, sharing, permissions, workspace isolation."""

import json

import pytest

from kehu.audit.models import AuditEntry
from kehu.reports import services
from kehu.reports.models import Dashboard, Report, Sharing

GRADE = {"group_by": [{"field": "grade"}], "aggregates": [{"fn": "count"}], "date_field": ""}


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_create_run_update_delete(data):
    api = data.tenant.api_client("owner")
    created = post(
        api,
        "/api/v1/reports",
        {"name": "By grade", "object_type": "customers.account", "definition": GRADE, "chart": "pie"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["definition"]["group_by"] == [{"field": "grade"}] and body["sharing"] == "private"
    run = api.get(f"/api/v1/reports/{body['id']}/run")
    assert run.status_code == 200
    rows = {tuple(r["labels"]): r["values"] for r in run.json()["rows"]}
    assert rows == {("Strategic",): [2], ("Important",): [1], ("Ordinary",): [2], ("(empty)",): [1]}
    keys = {r["labels"][0]: r["keys"] for r in run.json()["rows"]}
    assert keys["Strategic"] == ["strategic"] and keys["(empty)"] == [""]
    changed = patch(api, f"/api/v1/reports/{body['id']}", {"chart": "bar", "sharing": "workspace"})
    assert changed.status_code == 200 and changed.json()["chart"] == "bar"
    assert api.delete(f"/api/v1/reports/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/reports/{body['id']}").status_code == 404
    # Audited as reports (not as the accounts the report is about).
    with data.tenant.scope():
        entries = list(
            AuditEntry.objects.filter(object_type="reports.report", object_id=str(body["id"]))
            .order_by("pk")
            .values_list("action", "changes")
        )
    assert [action for action, _ in entries] == ["create", "update", "delete"]
    assert entries[0][1]["name"] == [None, "By grade"] and entries[1][1]["chart"] == ["pie", "bar"]


def test_run_with_a_date_range(data):
    api = data.tenant.api_client("owner")
    rid = post(
        api,
        "/api/v1/reports",
        {"name": "All", "object_type": "customers.account", "definition": {"date_field": "created_at"}},
    ).json()["id"]
    run = api.get(f"/api/v1/reports/{rid}/run?start=2026-02-01&end=2026-02-28")
    assert run.json()["rows"][0]["values"] == [2]


def test_invalid_definition_is_a_422_with_paths(data):
    api = data.tenant.api_client("owner")
    bad = post(
        api,
        "/api/v1/reports",
        {
            "name": "",
            "object_type": "customers.account",
            "definition": {"group_by": [{"field": "nope"}]},
            "chart": "radar",
        },
    )
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert {"name", "definition.group_by.0.field", "chart"} <= fields


def test_unknown_input_field_rejected(data):
    api = data.tenant.api_client("owner")
    bad = post(api, "/api/v1/reports", {"name": "x", "object_type": "customers.account", "colour": "red"})
    assert bad.status_code == 422


def test_private_report_of_another_member_is_404_shared_is_visible_but_read_only(data):
    t = data.tenant
    with t.scope():
        private = services.create_report(
            t.actors["manager"], name="Mine", object_type="customers.account", definition=GRADE
        )
        shared = services.create_report(
            t.actors["manager"],
            name="Ours",
            object_type="customers.account",
            definition=GRADE,
            sharing=Sharing.WORKSPACE,
        )
    api = t.api_client("sales")
    assert api.get(f"/api/v1/reports/{private.pk}").status_code == 404
    assert api.get(f"/api/v1/reports/{private.pk}/run").status_code == 404
    assert [r["id"] for r in api.get("/api/v1/reports").json()] == [shared.pk]
    # Shared: the sales rep runs it over their own accounts only.
    run = api.get(f"/api/v1/reports/{shared.pk}/run").json()
    assert sum(r["values"][0] for r in run["rows"]) == 3
    assert patch(api, f"/api/v1/reports/{shared.pk}", {"name": "Hijack"}).status_code == 403
    assert api.delete(f"/api/v1/reports/{shared.pk}").status_code == 403


def test_team_sharing(data):
    from kehu.workspaces.models import Team

    t = data.tenant
    with t.scope():
        team = Team.objects.create(workspace=t.workspace, name="East")
        team.members.add(t.users["manager"], t.users["sales"])
        t.actors["manager"].__dict__.pop("team_ids", None)
        report = services.create_report(
            t.actors["manager"],
            name="Team",
            object_type="customers.account",
            definition=GRADE,
            sharing=Sharing.TEAM,
        )
    assert report.team_id == team.pk
    assert t.api_client("sales").get(f"/api/v1/reports/{report.pk}").status_code == 200
    assert t.api_client("marketing").get(f"/api/v1/reports/{report.pk}").status_code == 404


def test_other_workspace_is_404(data, other_tenant):
    with data.tenant.scope():
        report = services.create_report(
            data.tenant.actors["owner"],
            name="Ours",
            object_type="customers.account",
            definition=GRADE,
            sharing=Sharing.WORKSPACE,
        )
        dashboard = services.create_dashboard(
            data.tenant.actors["owner"], name="D", sharing=Sharing.WORKSPACE
        )
    api = other_tenant.api_client("owner")
    assert api.get(f"/api/v1/reports/{report.pk}").status_code == 404
    assert api.get(f"/api/v1/reports/{report.pk}/run").status_code == 404
    assert api.get(f"/api/v1/dashboards/{dashboard.pk}").status_code == 404
    assert post(api, f"/api/v1/dashboards/{dashboard.pk}/tiles", {"report_id": report.pk}).status_code == 404
    assert api.get("/api/v1/reports").json() == []


def test_fields_endpoint_lists_custom_fields(data):
    body = data.tenant.api_client("owner").get("/api/v1/reports/fields").json()
    accounts = next(t for t in body if t["object_type"] == "customers.account")
    names = {f["name"]: f for f in accounts["fields"]}
    assert names["custom.seats"]["numeric"] and names["created_at"]["dated"] and "grade" in names


def test_dashboard_crud_tiles_and_reorder(data):
    t = data.tenant
    api = t.api_client("owner")
    rid = post(
        api, "/api/v1/reports", {"name": "G", "object_type": "customers.account", "definition": GRADE}
    ).json()["id"]
    created = post(
        api,
        "/api/v1/dashboards",
        {"name": "Board", "schedule": "weekly", "recipient_ids": [t.users["sales"].pk]},
    )
    assert created.status_code == 201, created.content
    did = created.json()["id"]
    assert created.json()["recipient_ids"] == [t.users["sales"].pk]
    first = post(api, f"/api/v1/dashboards/{did}/tiles", {"report_id": rid, "width": 2})
    second = post(api, f"/api/v1/dashboards/{did}/tiles", {"kind": "rfm_grid"})
    assert first.status_code == 201 and second.status_code == 201
    assert post(api, f"/api/v1/dashboards/{did}/tiles", {"kind": "nope"}).status_code == 422
    ids = [first.json()["id"], second.json()["id"]]
    reordered = api.put(
        f"/api/v1/dashboards/{did}/tiles",
        json.dumps({"tile_ids": ids[::-1]}),
        content_type="application/json",
    )
    assert [x["id"] for x in reordered.json()["tiles"]] == ids[::-1]
    moved = patch(api, f"/api/v1/dashboards/{did}/tiles/{ids[0]}", {"move": "up"})
    assert moved.status_code == 200
    assert [x["id"] for x in api.get(f"/api/v1/dashboards/{did}").json()["tiles"]] == ids
    assert api.delete(f"/api/v1/dashboards/{did}/tiles/{ids[1]}").status_code == 204
    assert patch(api, f"/api/v1/dashboards/{did}", {"name": "Renamed"}).json()["name"] == "Renamed"
    assert api.delete(f"/api/v1/dashboards/{did}").status_code == 204
    with t.scope():
        assert not Dashboard.objects.filter(pk=did).exists()
        assert Report.objects.filter(pk=rid).exists()


def test_dashboard_private_of_another_member_is_404_and_tiles_need_an_openable_report(data):
    t = data.tenant
    with t.scope():
        private = services.create_dashboard(t.actors["manager"], name="Mine")
        hidden = services.create_report(
            t.actors["manager"], name="Hidden", object_type="customers.account", definition=GRADE
        )
    api = t.api_client("sales")
    assert api.get(f"/api/v1/dashboards/{private.pk}").status_code == 404
    assert api.get("/api/v1/dashboards").json() == []
    own = post(api, "/api/v1/dashboards", {"name": "Own"}).json()["id"]
    assert post(api, f"/api/v1/dashboards/{own}/tiles", {"report_id": hidden.pk}).status_code == 422


@pytest.mark.parametrize("role", ["readonly", "sales"])
def test_members_of_every_role_can_keep_their_own_reports(data, role):
    api = data.tenant.api_client(role)
    assert post(api, "/api/v1/reports", {"name": "x", "object_type": "customers.account"}).status_code == 201


def test_treemap_is_a_chart_type_and_unknown_ones_are_422(data):
    api = data.tenant.api_client("owner")
    created = post(
        api,
        "/api/v1/reports",
        {"name": "Grades", "object_type": "customers.account", "definition": GRADE, "chart": "treemap"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["chart"] == "treemap"
    wrong = post(
        api,
        "/api/v1/reports",
        {"name": "Grades", "object_type": "customers.account", "definition": GRADE, "chart": "sunburst"},
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "chart"
