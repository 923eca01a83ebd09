"""Workspace administration over the REST API: permissions, isolation between workspaces, audit."""

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.users.models import User
from kehu.workspaces.models import ApiKey, Membership, Role, Team

API = "/api/v1"
JSON = "application/json"


@pytest.fixture
def admin(tenant):
    return tenant.api_client("admin")


@pytest.fixture
def sales(tenant):
    return tenant.api_client("sales")


@pytest.fixture
def intruder(other_tenant):
    """The administrator of another workspace."""
    return other_tenant.api_client("admin")


def error_code(response) -> str:
    return response.json()["error"]["code"]


def last_audit(tenant, **filters) -> AuditEntry:
    with scopes_disabled():
        return AuditEntry.objects.filter(workspace=tenant.workspace, **filters).latest("id")


def all_items(client, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        response = client.get(f"{API}{path}", {"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return items


# --- workspace and me ------------------------------------------------------------------------------


def test_get_workspace_is_the_callers(admin, intruder, tenant, other_tenant):
    assert admin.get(f"{API}/workspace").json()["slug"] == "acme"
    assert intruder.get(f"{API}/workspace").json()["slug"] == "globex"


def test_admin_patches_workspace_with_audited_diff(admin, tenant):
    response = admin.patch(
        f"{API}/workspace",
        {"name": "Acme Ltd", "time_zone": "Europe/Berlin", "base_currency": "eur", "default_language": "en"},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["time_zone"], body["base_currency"]) == ("Acme Ltd", "Europe/Berlin", "EUR")
    entry = last_audit(tenant, object_type="workspaces.workspace", action="update")
    assert entry.changes["name"] == ["Acme 示例公司", "Acme Ltd"]
    assert entry.changes["base_currency"] == ["CNY", "EUR"]
    assert entry.actor == tenant.users["admin"]
    assert entry.api_key_prefix


def test_workspace_patch_validates_values(admin):
    response = admin.patch(
        f"{API}/workspace", {"time_zone": "Mars/Olympus", "default_region": "ZZ"}, content_type=JSON
    )
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"time_zone", "default_region"}
    assert (
        error_code(admin.patch(f"{API}/workspace", {"name": None}, content_type=JSON)) == "validation_error"
    )


def test_sales_cannot_patch_workspace(sales, tenant):
    response = sales.patch(f"{API}/workspace", {"name": "Mine now"}, content_type=JSON)
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    with scopes_disabled():
        tenant.workspace.refresh_from_db()
    assert tenant.workspace.name == "Acme 示例公司"


def test_me_describes_the_caller(sales, tenant):
    body = sales.get(f"{API}/me").json()
    assert body["role"] == "sales"
    assert body["can_manage_workspace"] is False
    assert [m["workspace_id"] for m in body["memberships"]] == [tenant.workspace.pk]


def test_object_types_lists_actions_and_scopes(sales):
    response = sales.get(f"{API}/object-types")
    assert response.status_code == 200
    for item in response.json():
        assert item["actions"] == ["view", "create", "change", "delete", "export"]
        assert item["scopes"] == ["own", "team", "all"]
        assert set(item["defaults"]) >= {"owner", "sales", "readonly"}


# --- members ---------------------------------------------------------------------------------------


def test_members_list_is_paginated_and_isolated(admin, intruder, tenant, other_tenant):
    emails = {m["user"]["email"] for m in all_items(admin, "/members")}
    assert emails == {u.email for u in tenant.users.values()}
    foreign = {m["user"]["email"] for m in all_items(intruder, "/members")}
    assert foreign == {u.email for u in other_tenant.users.values()}
    sales_only = admin.get(f"{API}/members", {"role": "sales"}).json()["items"]
    assert [m["user"]["email"] for m in sales_only] == [tenant.users["sales"].email]


def test_add_existing_user_and_new_user(admin, tenant, other_tenant):
    existing = other_tenant.users["sales"]
    response = admin.post(
        f"{API}/members", {"email": existing.email.upper(), "role": "service"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == existing.pk
    assert response.json()["role"] == "service"

    response = admin.post(
        f"{API}/members",
        {"email": "new.person@acme.test", "name": "New Person", "role": "sales"},
        content_type=JSON,
    )
    assert response.status_code == 201
    created = User.objects.get(email="new.person@acme.test")
    assert created.name == "New Person"
    assert not created.has_usable_password()
    entry = last_audit(tenant, object_type="workspaces.membership", action="create")
    assert entry.changes["user"] == [None, created.pk]
    assert last_audit(tenant, object_type="users.user").changes["email"] == [None, "new.person@acme.test"]


def test_add_member_errors(admin, sales, tenant):
    duplicate = admin.post(
        f"{API}/members", {"email": tenant.users["sales"].email, "role": "sales"}, content_type=JSON
    )
    assert (duplicate.status_code, error_code(duplicate)) == (409, "conflict")
    bad_role = admin.post(f"{API}/members", {"email": "x@y.test", "role": "wizard"}, content_type=JSON)
    assert bad_role.status_code == 422
    assert bad_role.json()["error"]["details"][0]["field"] == "role"
    assert not User.objects.filter(email="x@y.test").exists()  # rolled back with the failed membership
    bad_email = admin.post(f"{API}/members", {"email": "not-an-email", "role": "sales"}, content_type=JSON)
    assert bad_email.json()["error"]["details"][0]["field"] == "email"
    forbidden = sales.post(f"{API}/members", {"email": "z@y.test", "role": "sales"}, content_type=JSON)
    assert (forbidden.status_code, error_code(forbidden)) == (403, "permission_denied")


def test_patch_member_role_is_audited(admin, tenant):
    with scopes_disabled():
        membership = Membership.objects.get(workspace=tenant.workspace, user=tenant.users["sales"])
    response = admin.patch(f"{API}/members/{membership.pk}", {"role": "manager"}, content_type=JSON)
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    entry = last_audit(tenant, action="permission_change", object_id=str(membership.pk))
    assert entry.changes == {"role": ["sales", "manager"]}
    response = admin.patch(f"{API}/members/{membership.pk}", {"is_active": False}, content_type=JSON)
    assert response.json()["is_active"] is False


def test_last_owner_cannot_be_demoted(admin, tenant):
    with scopes_disabled():
        owner = Membership.objects.get(workspace=tenant.workspace, role__key="owner")
    by_owner = tenant.api_client("owner").patch(
        f"{API}/members/{owner.pk}", {"role": "sales"}, content_type=JSON
    )
    assert (by_owner.status_code, error_code(by_owner)) == (409, "conflict")
    by_admin = admin.patch(f"{API}/members/{owner.pk}", {"role": "sales"}, content_type=JSON)
    assert (by_admin.status_code, error_code(by_admin)) == (403, "permission_denied")


def test_members_of_another_workspace_are_not_found(intruder, tenant):
    with scopes_disabled():
        membership = Membership.objects.get(workspace=tenant.workspace, user=tenant.users["sales"])
    response = intruder.patch(f"{API}/members/{membership.pk}", {"role": "admin"}, content_type=JSON)
    assert (response.status_code, error_code(response)) == (404, "not_found")
    membership.refresh_from_db()
    assert membership.role.key == "sales"


# --- roles -----------------------------------------------------------------------------------------


def test_roles_list_and_create(admin, tenant):
    keys = {r["key"] for r in all_items(admin, "/roles")}
    assert keys == {"owner", "admin", "manager", "sales", "marketing", "service", "readonly"}
    response = admin.post(
        f"{API}/roles", {"key": "intern", "name": "Intern", "permissions": {}}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert response.json()["can_manage_workspace"] is False
    assert last_audit(tenant, object_type="workspaces.role", action="create").changes["key"] == [
        None,
        "intern",
    ]


def test_role_permissions_are_validated_and_changes_audited(admin, tenant):
    from kehu.workspaces.permissions import OBJECT_TYPES

    with scopes_disabled():
        role = Role.objects.get(workspace=tenant.workspace, key="sales")
    bad = admin.patch(f"{API}/roles/{role.pk}", {"permissions": {"nope.thing": {}}}, content_type=JSON)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "permissions.nope.thing"
    if not OBJECT_TYPES:
        pytest.skip("no object types registered")
    object_type = sorted(OBJECT_TYPES)[0]
    grant = {"actions": ["view"], "scope": "all"}
    response = admin.patch(f"{API}/roles/{role.pk}", {"permissions": {object_type: grant}}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["effective"][object_type] == grant
    entry = last_audit(tenant, action="permission_change", object_type="workspaces.role")
    assert entry.changes["permissions"] == [{}, {object_type: grant}]


def test_sales_cannot_write_roles(sales, tenant):
    with scopes_disabled():
        role = Role.objects.get(workspace=tenant.workspace, key="sales")
    assert sales.patch(f"{API}/roles/{role.pk}", {"name": "Boss"}, content_type=JSON).status_code == 403
    assert sales.post(f"{API}/roles", {"key": "x", "name": "X"}, content_type=JSON).status_code == 403


def test_role_of_another_workspace_is_not_found(intruder, tenant):
    with scopes_disabled():
        role = Role.objects.get(workspace=tenant.workspace, key="sales")
    assert intruder.patch(f"{API}/roles/{role.pk}", {"name": "Pwned"}, content_type=JSON).status_code == 404


# --- teams -----------------------------------------------------------------------------------------


def test_team_lifecycle_is_audited(admin, tenant):
    sales_id, manager_id = tenant.users["sales"].pk, tenant.users["manager"].pk
    response = admin.post(f"{API}/teams", {"name": "North", "members": [sales_id]}, content_type=JSON)
    assert response.status_code == 201
    team_id = response.json()["id"]
    assert response.json()["members"] == [sales_id]
    assert last_audit(tenant, object_type="workspaces.team", action="create").changes["name"] == [
        None,
        "North",
    ]

    response = admin.patch(
        f"{API}/teams/{team_id}", {"name": "Nord", "members": [sales_id, manager_id]}, content_type=JSON
    )
    assert response.status_code == 200
    assert response.json()["members"] == sorted([sales_id, manager_id])
    assert last_audit(tenant, action="update", object_id=str(team_id)).changes == {"name": ["North", "Nord"]}
    members_change = last_audit(tenant, action="permission_change", object_id=str(team_id))
    assert members_change.changes == {"members": [[sales_id], sorted([sales_id, manager_id])]}

    assert admin.delete(f"{API}/teams/{team_id}").status_code == 204
    assert last_audit(tenant, action="delete", object_id=str(team_id)).changes["name"] == ["Nord", None]
    with scopes_disabled():
        assert not Team.objects.filter(pk=team_id).exists()


def test_team_errors(admin, sales, tenant, other_tenant):
    admin.post(f"{API}/teams", {"name": "East"}, content_type=JSON)
    duplicate = admin.post(f"{API}/teams", {"name": "East"}, content_type=JSON)
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["details"][0]["code"] == "unique"
    outsider = admin.post(
        f"{API}/teams", {"name": "West", "members": [other_tenant.users["sales"].pk]}, content_type=JSON
    )
    assert outsider.status_code == 422
    assert sales.post(f"{API}/teams", {"name": "Sales own"}, content_type=JSON).status_code == 403


def test_teams_of_another_workspace_are_invisible(admin, intruder, tenant):
    team_id = admin.post(f"{API}/teams", {"name": "Secret"}, content_type=JSON).json()["id"]
    assert intruder.patch(f"{API}/teams/{team_id}", {"name": "Mine"}, content_type=JSON).status_code == 404
    assert intruder.delete(f"{API}/teams/{team_id}").status_code == 404
    assert all(t["id"] != team_id for t in all_items(intruder, "/teams"))
    with scopes_disabled():
        assert Team.objects.get(pk=team_id).name == "Secret"


# --- API keys --------------------------------------------------------------------------------------


def test_create_key_returns_secret_once(sales, tenant):
    response = sales.post(f"{API}/api-keys", {"name": "CI"}, content_type=JSON)
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("kehu_")
    assert body["user_id"] == tenant.users["sales"].pk
    listed = sales.get(f"{API}/api-keys").json()["items"]
    assert {k["name"] for k in listed} == {"sales key", "CI"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {body['key']}").get(f"{API}/me").status_code == 200


def test_key_lists_own_for_members_all_for_admins(admin, sales, tenant):
    assert {k["user_id"] for k in all_items(sales, "/api-keys")} == {tenant.users["sales"].pk}
    assert {k["user_id"] for k in all_items(admin, "/api-keys")} == {
        tenant.users["sales"].pk,
        tenant.users["admin"].pk,
    }


def test_only_admins_create_keys_for_others(admin, sales, tenant):
    for_sales = admin.post(
        f"{API}/api-keys", {"name": "for sales", "user_id": tenant.users["sales"].pk}, content_type=JSON
    )
    assert for_sales.status_code == 201
    assert for_sales.json()["user_id"] == tenant.users["sales"].pk
    refused = sales.post(
        f"{API}/api-keys", {"name": "x", "user_id": tenant.users["admin"].pk}, content_type=JSON
    )
    assert refused.status_code == 403


def test_revoke_key(admin, sales, tenant):
    created = sales.post(f"{API}/api-keys", {"name": "temp"}, content_type=JSON).json()
    admin_key = admin.get(f"{API}/api-keys", {"user_id": tenant.users["admin"].pk}).json()["items"][0]
    # A member cannot see, so cannot revoke, someone else's key.
    assert sales.delete(f"{API}/api-keys/{admin_key['id']}").status_code == 404
    response = sales.delete(f"{API}/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert last_audit(tenant, action="revoke").object_id == str(created["id"])
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {created['key']}").get(f"{API}/me")
    assert (refused.status_code, error_code(refused)) == (401, "invalid_api_key")
    active = sales.get(f"{API}/api-keys", {"active": True}).json()["items"]
    assert created["id"] not in {k["id"] for k in active}


def test_keys_of_another_workspace_are_invisible(admin, intruder, tenant):
    with scopes_disabled():
        key = ApiKey.objects.filter(workspace=tenant.workspace).first()
    assert intruder.delete(f"{API}/api-keys/{key.pk}").status_code == 404
    assert all(k["id"] != key.pk for k in all_items(intruder, "/api-keys"))
    with scopes_disabled():
        key.refresh_from_db()
    assert key.revoked_at is None


# --- audit -----------------------------------------------------------------------------------------


def test_audit_is_admin_only_filtered_and_isolated(admin, sales, intruder, tenant):
    team_id = admin.post(f"{API}/teams", {"name": "Audited"}, content_type=JSON).json()["id"]
    admin.patch(f"{API}/teams/{team_id}", {"name": "Audited 2"}, content_type=JSON)
    response = admin.get(f"{API}/audit", {"object_type": "workspaces.team", "object_id": str(team_id)})
    assert response.status_code == 200
    actions = [e["action"] for e in response.json()["items"]]
    assert actions == ["update", "create"]  # newest first
    only_updates = admin.get(f"{API}/audit", {"action": "update", "actor": tenant.users["admin"].pk}).json()
    assert {e["action"] for e in only_updates["items"]} == {"update"}
    entries = all_items(admin, "/audit")
    assert len(entries) == len({e["id"] for e in entries}) >= 3

    denied = sales.get(f"{API}/audit")
    assert (denied.status_code, error_code(denied)) == (403, "permission_denied")
    foreign = all_items(intruder, "/audit")
    assert all(e["object_id"] != str(team_id) or e["object_type"] != "workspaces.team" for e in foreign)
    assert all(e["actor_id"] != tenant.users["admin"].pk for e in foreign)
