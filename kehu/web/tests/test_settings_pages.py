"""Workspace settings pages: who may open them, and that their writes land through the services."""

import hashlib
import re

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.users.models import User
from kehu.workspaces.access import Actor
from kehu.workspaces.models import ApiKey, Membership, Role, Team, Workspace

ADMIN_PAGES = ["/settings/", "/settings/members/", "/settings/roles/", "/settings/teams/", "/settings/audit/"]


def audit(**filters):
    with scopes_disabled():
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admin_pages_open_for_administrators(client, tenant, url, role):
    client.force_login(tenant.users[role])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["sales", "manager", "readonly"])
def test_admin_pages_are_404_for_everyone_else(client, tenant, url, role):
    client.force_login(tenant.users[role])
    assert client.get(url).status_code == 404


def test_record_pages_of_another_workspace_are_404(client, tenant, other_tenant):
    with scopes_disabled():
        foreign_role = Role.objects.get(workspace=other_tenant.workspace, key="sales")
        foreign_team = Team.objects.create(workspace=other_tenant.workspace, name="Foreign")
        foreign_member = Membership.objects.get(
            workspace=other_tenant.workspace, user=other_tenant.users["sales"]
        )
    client.force_login(tenant.users["admin"])
    assert client.get(f"/settings/roles/{foreign_role.pk}/").status_code == 404
    assert client.get(f"/settings/teams/{foreign_team.pk}/").status_code == 404
    assert client.get("/settings/teams/999999/").status_code == 404
    response = client.post(f"/settings/members/{foreign_member.pk}/", {"role": "readonly"})
    assert response.status_code == 404
    with scopes_disabled():
        foreign_member.refresh_from_db()
        assert foreign_member.role.key == "sales"


def test_sales_cannot_post_to_admin_actions(client, tenant):
    with tenant.scope():
        member = Membership.objects.get(user=tenant.users["readonly"])
    client.force_login(tenant.users["sales"])
    assert client.post(f"/settings/members/{member.pk}/", {"role": "admin"}).status_code == 404
    assert client.post("/settings/teams/", {"name": "Sneaky"}).status_code == 404
    with tenant.scope():
        assert Membership.objects.get(pk=member.pk).role.key == "readonly"
        assert not Team.objects.exists()


# --- workspace -------------------------------------------------------------------------------------


def test_workspace_settings_save_is_audited(client, tenant):
    client.force_login(tenant.users["admin"])
    data = {"name": "Acme 中国", "default_language": "en", "default_region": "hk",
            "base_currency": "hkd", "time_zone": "Asia/Hong_Kong"}
    assert client.post("/settings/", data).status_code == 302
    workspace = Workspace.objects.get(pk=tenant.workspace.pk)
    assert (workspace.name, workspace.default_region, workspace.base_currency) == ("Acme 中国", "HK", "HKD")
    entry = audit(action="update", object_type="workspaces.workspace")[-1]
    assert entry.changes["name"] == ["Acme 示例公司", "Acme 中国"]


def test_workspace_settings_reject_unknown_time_zone(client, tenant):
    client.force_login(tenant.users["admin"])
    data = {"name": "Acme", "default_language": "en", "default_region": "CN",
            "base_currency": "CNY", "time_zone": "Mars/Olympus"}
    response = client.post("/settings/", data)
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert Workspace.objects.get(pk=tenant.workspace.pk).time_zone == "Asia/Shanghai"


# --- members ---------------------------------------------------------------------------------------


def test_invite_existing_user_adds_membership(client, tenant, other_tenant):
    client.force_login(tenant.users["admin"])
    data = {"email": "sales@globex.test", "name": "", "role": "service"}
    response = client.post("/settings/members/", data)
    assert response.status_code == 302
    with tenant.scope():
        membership = Membership.objects.get(user=other_tenant.users["sales"])
        assert membership.role.key == "service"
    assert mail.outbox == []


def test_invite_new_person_creates_user_and_emails_a_set_password_link(client, tenant):
    client.force_login(tenant.users["admin"])
    data = {"email": "New.Person@Example.com", "name": "李娜", "role": "sales"}
    response = client.post("/settings/members/", data)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.name == "李娜" and not user.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.person@example.com"]
    link = re.search(r"https?://[^/]+(/password-reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    client.logout()
    form_url = client.get(link).url
    new = "Fresh-pass-for-Lina-1"
    assert client.post(form_url, {"new_password1": new, "new_password2": new}).status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert audit(action="create", object_type="users.user", object_id=str(user.pk))


def test_invite_an_active_member_again_shows_an_error(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/members/", {"email": "sales@acme.test", "name": "", "role": "sales"})
    assert response.status_code == 200
    assert 'class="alert alert-error"' in response.content.decode()


def test_change_role_and_deactivate_member(client, tenant):
    with tenant.scope():
        member = Membership.objects.get(user=tenant.users["sales"])
    client.force_login(tenant.users["admin"])
    assert client.post(f"/settings/members/{member.pk}/", {"role": "manager"}).status_code == 302
    assert client.post(f"/settings/members/{member.pk}/", {"is_active": "0"}).status_code == 302
    with tenant.scope():
        member.refresh_from_db()
        assert member.role.key == "manager" and not member.is_active
    changes = [e.changes for e in audit(action="permission_change", object_id=str(member.pk))]
    assert {"role": ["sales", "manager"]} in changes and {"is_active": [True, False]} in changes


def test_last_owner_cannot_be_deactivated(client, tenant):
    with tenant.scope():
        owner = Membership.objects.get(user=tenant.users["owner"])
    client.force_login(tenant.users["admin"])
    response = client.post(f"/settings/members/{owner.pk}/", {"is_active": "0"}, follow=True)
    assert "toast-error" in response.content.decode()
    with tenant.scope():
        assert Membership.objects.get(pk=owner.pk).is_active


# --- roles -----------------------------------------------------------------------------------------


def _matrix_post(role_name: str, grants: dict) -> dict:
    data = {"name": role_name}
    for object_type, (actions, scope) in grants.items():
        for action in actions:
            data[f"perm:{object_type}:{action}"] = "1"
        data[f"scope:{object_type}"] = scope
    return data


def test_role_editor_shows_the_matrix(client, tenant):
    with tenant.scope():
        role = Role.objects.get(key="sales")
    client.force_login(tenant.users["admin"])
    html = client.get(f"/settings/roles/{role.pk}/").content.decode()
    assert 'id="permission-matrix"' in html
    checkbox = r'name="perm:customers\.account:{}"[^>]*?value="1"( checked)?'
    assert re.search(checkbox.format("view"), html).group(1) == " checked"
    assert re.search(checkbox.format("delete"), html).group(1) is None
    assert re.search(r'name="scope:customers.account".*?<option value="own" selected>', html, re.S)


def test_saving_the_matrix_changes_permissions_and_audits_the_diff(client, tenant):
    with tenant.scope():
        role = Role.objects.get(key="sales")
        old_name = role.name
        sales_actor = Actor(Membership.objects.get(user=tenant.users["sales"]))
        assert sales_actor.grant("customers.account").scope == "own"
    client.force_login(tenant.users["admin"])
    grants = {
        "customers.account": (["view", "create", "change", "export"], "team"),
        "customers.contact": (["view", "create", "change"], "own"),  # the default: not stored
        "workspaces.team": (["view"], "all"),
    }
    response = client.post(f"/settings/roles/{role.pk}/", _matrix_post("Sales reps", grants))
    assert response.status_code == 302
    with tenant.scope():
        role.refresh_from_db()
        assert role.permissions["customers.account"] == {
            "actions": ["view", "create", "change", "export"], "scope": "team"}
        assert "customers.contact" not in role.permissions
        actor = Actor(Membership.objects.select_related("role").get(user=tenant.users["sales"]))
        assert actor.grant("customers.account").scope == "team"
        assert actor.can("export", "customers.account")
        assert not actor.can("delete", "customers.account")
    entry = audit(action="permission_change", object_type="workspaces.role", object_id=str(role.pk))[-1]
    assert "name" not in entry.changes  # built-in roles keep their names
    assert role.name == old_name
    before, after = entry.changes["permissions"]
    assert before == {} and after["customers.account"]["scope"] == "team"
    assert entry.actor == tenant.users["admin"]


def test_custom_role_can_be_renamed(client, tenant):
    client.force_login(tenant.users["admin"])
    client.post("/settings/roles/", {"name": "Partner", "key": "partner", "copy_from": "readonly"})
    with tenant.scope():
        role = Role.objects.get(key="partner")
    client.post(f"/settings/roles/{role.pk}/", _matrix_post("Channel partner", {}))
    with tenant.scope():
        role.refresh_from_db()
        assert role.name == "Channel partner"
        assert role.permissions == {}  # nothing ticked: no access (the default of a custom role)
    entry = audit(action="permission_change", object_id=str(role.pk))[-1]
    assert entry.changes["name"] == ["Partner", "Channel partner"]


def test_invalid_scope_falls_back_to_own(client, tenant):
    with tenant.scope():
        role = Role.objects.get(key="marketing")
    client.force_login(tenant.users["admin"])
    client.post(f"/settings/roles/{role.pk}/",
                _matrix_post("Marketing", {"customers.account": (["view"], "everything")}))
    with tenant.scope():
        role.refresh_from_db()
        assert role.permissions["customers.account"] == {"actions": ["view"], "scope": "own"}


def test_create_role_copies_permissions(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/roles/", {"name": "Partner", "key": "partner", "copy_from": "readonly"})
    assert response.status_code == 302
    with tenant.scope():
        role = Role.objects.get(key="partner")
        assert not role.is_system
        assert role.permissions["customers.account"] == {"actions": ["view"], "scope": "all"}
    assert audit(action="create", object_type="workspaces.role", object_id=str(role.pk))


def test_create_role_with_taken_key_shows_the_field_error(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/roles/", {"name": "Again", "key": "sales", "copy_from": "sales"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    with tenant.scope():
        assert not Role.objects.filter(name="Again").exists()


# --- teams -----------------------------------------------------------------------------------------


def test_team_create_rename_members_and_delete(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/teams/", {"name": "华东"})
    with tenant.scope():
        team = Team.objects.get(name="华东")
    assert response.url == f"/settings/teams/{team.pk}/"

    sales, manager = tenant.users["sales"], tenant.users["manager"]
    response = client.post(f"/settings/teams/{team.pk}/", {"name": "East", "members": [sales.pk, manager.pk]})
    assert response.status_code == 302
    with tenant.scope():
        team.refresh_from_db()
        assert team.name == "East"
        assert set(team.members.values_list("id", flat=True)) == {sales.pk, manager.pk}

    page = client.get(f"/settings/teams/{team.pk}/delete/")
    assert page.status_code == 200 and 'id="team-delete-form"' in page.content.decode()
    with tenant.scope():
        assert Team.objects.filter(pk=team.pk).exists()  # GET only asks
    assert client.post(f"/settings/teams/{team.pk}/delete/").status_code == 302
    with tenant.scope():
        assert not Team.objects.filter(pk=team.pk).exists()
    actions = [e.action for e in audit(object_type="workspaces.team", object_id=str(team.pk))]
    assert actions == ["create", "update", "permission_change", "delete"]


def test_team_members_must_belong_to_the_workspace(client, tenant, other_tenant):
    client.force_login(tenant.users["admin"])
    client.post("/settings/teams/", {"name": "West"})
    with tenant.scope():
        team = Team.objects.get(name="West")
    response = client.post(f"/settings/teams/{team.pk}/",
                           {"name": "West", "members": [other_tenant.users["sales"].pk]})
    assert response.status_code == 200
    with tenant.scope():
        assert not team.members.exists()


# --- API keys --------------------------------------------------------------------------------------


def test_api_key_created_in_the_ui_is_shown_once_and_stored_hashed(client, tenant):
    client.force_login(tenant.users["sales"])
    response = client.post("/settings/api-keys/", {"name": "ERP sync"})
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'id="api-key-secret" value="([^"]+)"', html).group(1)
    with tenant.scope():
        key = ApiKey.objects.get(name="ERP sync")
    assert key.user == tenant.users["sales"]
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in key.key_hash and key.prefix in secret
    # The secret never appears again.
    assert secret not in client.get("/settings/api-keys/").content.decode()
    # And it works against the API's authentication.
    from kehu.workspaces.services import authenticate_api_key

    assert authenticate_api_key(secret).user == tenant.users["sales"]


def test_members_see_only_their_own_keys_admins_see_all(client, tenant):
    from kehu.workspaces.services import create_api_key

    with tenant.scope():
        create_api_key(tenant.actors["sales"], "sales-key")
        create_api_key(tenant.actors["marketing"], "marketing-key")
    client.force_login(tenant.users["sales"])
    html = client.get("/settings/api-keys/").content.decode()
    assert "sales-key" in html and "marketing-key" not in html
    client.force_login(tenant.users["admin"])
    html = client.get("/settings/api-keys/").content.decode()
    assert "sales-key" in html and "marketing-key" in html


def test_revoke_own_key_and_not_someone_elses(client, tenant):
    from kehu.workspaces.services import create_api_key

    with tenant.scope():
        mine, raw = create_api_key(tenant.actors["sales"], "mine")
        theirs, _ = create_api_key(tenant.actors["marketing"], "theirs")
    client.force_login(tenant.users["sales"])
    assert client.post(f"/settings/api-keys/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/settings/api-keys/{mine.pk}/revoke/").status_code == 302
    with tenant.scope():
        assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
        assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    from kehu.workspaces.services import authenticate_api_key

    assert authenticate_api_key(raw) is None
    assert audit(action="revoke", object_id=str(mine.pk))


def test_admin_creates_a_key_for_another_member(client, tenant):
    client.force_login(tenant.users["admin"])
    response = client.post("/settings/api-keys/", {"name": "svc", "user": tenant.users["service"].pk})
    assert response.status_code == 200
    with tenant.scope():
        assert ApiKey.objects.get(name="svc").user == tenant.users["service"]
