"""Saved views: API CRUD, who sees and changes which view, workspace isolation, and the list page."""

import json
from urllib.parse import quote

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers import services as customers
from kehu.listviews.filters import encode_spec
from kehu.listviews.models import SavedView

pytestmark = pytest.mark.django_db

SPEC = {"op": "and", "conditions": [{"field": "city", "lookup": "eq", "value": "上海"}]}


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_api_crud_and_audit(tenant):
    api = tenant.api_client("sales")
    created = post(
        api,
        "/api/v1/views",
        {
            "object_type": "customers.account",
            "name": "上海客户",
            "filters": SPEC,
            "ordering": "-name",
            "columns": ["name", "city"],
        },
    )
    assert created.status_code == 201, created.content
    view = created.json()
    assert (view["shared"], view["columns"], view["ordering"]) == ("personal", ["name", "city"], "-name")
    listed = api.get("/api/v1/views?object_type=customers.account").json()
    assert [v["name"] for v in listed] == ["上海客户"]
    changed = patch(api, f"/api/v1/views/{view['id']}", {"name": "Shanghai", "is_default": True})
    assert (
        changed.status_code == 200 and changed.json()["name"] == "Shanghai" and changed.json()["is_default"]
    )
    assert api.delete(f"/api/v1/views/{view['id']}").status_code == 204
    assert api.get(f"/api/v1/views/{view['id']}").status_code == 404
    with tenant.scope():
        actions = list(
            AuditEntry.objects.filter(object_type="listviews.savedview")
            .order_by("pk")
            .values_list("action", flat=True)
        )
    assert actions == ["create", "update", "delete"]


def test_api_validation_paths(tenant):
    api = tenant.api_client("sales")
    bad = post(
        api,
        "/api/v1/views",
        {
            "object_type": "customers.account",
            "name": "",
            "filters": {"op": "and", "conditions": [{"field": "city", "lookup": "gt", "value": "x"}]},
            "ordering": "owner",
            "columns": ["name", "secret"],
            "shared": "workspace",
        },
    )
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert fields == {"name", "shared", "filters.conditions.0.lookup", "ordering", "columns.1"}
    unknown = post(api, "/api/v1/views", {"object_type": "nope.thing", "name": "x"})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "object_type"


def test_personal_views_are_private_shared_ones_visible_and_only_owners_edit(tenant):
    personal = post(
        tenant.api_client("sales"), "/api/v1/views", {"object_type": "customers.account", "name": "Mine"}
    )
    manager = tenant.api_client("manager")
    shared = post(
        manager,
        "/api/v1/views",
        {"object_type": "customers.account", "name": "Team", "shared": "workspace", "filters": SPEC},
    )
    assert shared.status_code == 201
    marketing = tenant.api_client("marketing")
    assert [v["name"] for v in marketing.get("/api/v1/views").json()] == ["Team"]
    assert marketing.get(f"/api/v1/views/{personal.json()['id']}").status_code == 404
    assert patch(marketing, f"/api/v1/views/{personal.json()['id']}", {"name": "x"}).status_code == 404
    # Visible but not theirs: no changes, no deletion.
    assert patch(marketing, f"/api/v1/views/{shared.json()['id']}", {"name": "x"}).status_code == 403
    assert marketing.delete(f"/api/v1/views/{shared.json()['id']}").status_code == 403
    # Administrators may look after shared views.
    assert (
        patch(tenant.api_client("admin"), f"/api/v1/views/{shared.json()['id']}", {"name": "All"}).status_code
        == 200
    )


def test_views_are_isolated_per_workspace(tenant, other_tenant):
    created = post(
        tenant.api_client("owner"),
        "/api/v1/views",
        {"object_type": "customers.account", "name": "Shared", "shared": "workspace"},
    ).json()
    foreign = other_tenant.api_client("owner")
    assert foreign.get("/api/v1/views").json() == []
    assert foreign.get(f"/api/v1/views/{created['id']}").status_code == 404
    assert patch(foreign, f"/api/v1/views/{created['id']}", {"name": "x"}).status_code == 404
    assert foreign.delete(f"/api/v1/views/{created['id']}").status_code == 404
    # The web page of another workspace's view answers 404 too.
    assert other_tenant.web_client("owner").get(f"/accounts/?view={created['id']}").status_code == 404


def test_list_endpoints_accept_filter_specs(tenant):
    with tenant.scope():
        customers.create_account(tenant.actors["owner"], name="上海一号", city="上海")
        customers.create_account(tenant.actors["owner"], name="北京一号", city="北京")
    api = tenant.api_client("owner")
    found = api.get("/api/v1/accounts?ordering=name&filters=" + quote(json.dumps(SPEC)))
    assert [a["name"] for a in found.json()["items"]] == ["上海一号"]
    bad = api.get("/api/v1/accounts?filters=" + quote('{"op": "and", "conditions": [{"field": "x"}]}'))
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "filters.conditions.0.field"
    assert api.get("/api/v1/accounts?filters=notjson").status_code == 422
    contacts = api.get(
        "/api/v1/contacts?filters="
        + quote(
            json.dumps({"op": "and", "conditions": [{"field": "account.city", "lookup": "eq", "value": "x"}]})
        )
    )
    assert contacts.status_code == 200 and contacts.json()["items"] == []


def test_saving_and_reopening_a_view_on_the_list_page(tenant):
    with tenant.scope():
        customers.create_account(tenant.actors["owner"], name="上海一号", city="上海")
        customers.create_account(tenant.actors["owner"], name="北京一号", city="北京")
    web = tenant.web_client("owner")
    filtered = web.get("/accounts/", {"f": encode_spec(SPEC), "sort": "name", "cols": "name,city,owner"})
    assert [a.name for a in filtered.context["rows"]] == ["上海一号"]
    saved = web.post(
        "/lists/customers.account/views/",
        {
            "name": "上海",
            "f": encode_spec(SPEC),
            "sort": "name",
            "cols": "name,city,owner",
            "is_default": "1",
        },
    )
    with tenant.scope():
        view = SavedView.objects.get()
    assert saved.status_code == 302 and saved["Location"].endswith(f"?view={view.pk}")
    assert (view.filters, view.ordering, view.columns, view.is_default) == (
        SPEC,
        "name",
        ["name", "city", "owner"],
        True,
    )
    reopened = web.get(f"/accounts/?view={view.pk}")
    assert [a.name for a in reopened.context["rows"]] == ["上海一号"]
    assert [c.key for c in reopened.context["list_columns"]] == ["name", "city", "owner"]
    html = reopened.content.decode()
    assert f'data-view-id="{view.pk}"' in html and 'class="view-tab active" href="?view=' in html
    # The default view opens by itself; "All" shows everything.
    assert [a.name for a in web.get("/accounts/").context["rows"]] == ["上海一号"]
    assert len(web.get("/accounts/?all=1").context["rows"]) == 2
    # Rename, then update its state, then delete.
    web.post(f"/lists/views/{view.pk}/", {"name": "沪", "shared": "personal"})
    web.post(f"/lists/views/{view.pk}/", {"what": "state", "f": "", "sort": "-name", "cols": "name"})
    view.refresh_from_db()
    assert (view.name, view.filters["conditions"], view.ordering, view.columns) == (
        "沪",
        [],
        "-name",
        ["name"],
    )
    web.post(f"/lists/views/{view.pk}/", {"what": "delete"})
    with tenant.scope():
        assert not SavedView.objects.exists()


def test_the_builder_form_becomes_a_linkable_url(tenant):
    web = tenant.web_client("owner")
    response = web.get(
        "/lists/customers.account/apply/",
        {
            "builder": "1",
            "g.r.op": "or",
            "c.r-5.field": "city",
            "c.r-5.lookup": "eq",
            "c.r-5.value": "上海",
            "g.r-9.op": "and",
            "c.r-9-2.field": "created_at",
            "c.r-9-2.lookup": "between",
            "c.r-9-2.value": "2026-01-01",
            "c.r-9-2.value2": "2026-02-01",
            "c.r-9-3.field": "",
        },
    )
    assert response.status_code == 302
    from urllib.parse import parse_qs, urlparse

    from kehu.listviews.filters import decode_spec

    query = parse_qs(urlparse(response["Location"]).query)
    assert decode_spec(query["f"][0]) == {
        "op": "or",
        "conditions": [
            {"field": "city", "lookup": "eq", "value": "上海"},
            {"op": "and", "conditions": [
                {"field": "created_at", "lookup": "between", "value": ["2026-01-01", "2026-02-01"]}]},
        ],
    }  # fmt: skip
    picker = web.get(
        "/lists/customers.account/apply/",
        {
            "picker": "1",
            "order": "name,kind,city,owner",
            "pick": ["name", "city", "owner"],
            "move": "owner:up",
        },
    )
    assert parse_qs(urlparse(picker["Location"]).query)["cols"] == ["name,owner,city"]


def test_builder_fragments(tenant):
    web = tenant.web_client("owner")
    row = web.get("/lists/customers.account/builder/condition/", {"parent": "r"}).content.decode()
    assert 'name="c.r-' in row and "hx-get" in row
    typed = web.get(
        "/lists/customers.account/builder/condition/",
        {"path": "r-1", "c.r-1.field": "created_at", "c.r-1.lookup": "relative"},
    ).content.decode()
    assert 'value="last_30_days"' in typed
    dated = web.get(
        "/lists/customers.account/builder/condition/",
        {"path": "r-1", "c.r-1.field": "created_at", "c.r-1.lookup": "between"},
    ).content.decode()
    assert dated.count('type="datetime-local"') == 2
    owner = web.get(
        "/lists/customers.account/builder/condition/", {"path": "r-1", "c.r-1.field": "owner"}
    ).content.decode()
    assert 'value="me"' in owner and str(tenant.users["sales"]) in owner
    group = web.get("/lists/customers.account/builder/group/", {"parent": "r"})
    assert group.status_code == 200 and "fb-group" in group.content.decode()
    assert web.get("/lists/customers.account/builder/group/", {"parent": "r-1-2"}).status_code == 404
    assert web.get("/lists/nope.thing/builder/group/").status_code == 404
