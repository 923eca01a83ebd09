"""Record access rules: role defaults, admin overrides, team scope, and the landing workspace."""

import pytest
from django_scopes import scope

from kehu.customers import services as customers
from kehu.customers.queries import accounts_for
from kehu.workspaces import services
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership
from kehu.workspaces.permissions import default_grant

pytestmark = pytest.mark.django_db


def fresh(actor: Actor) -> Actor:
    """The same member re-read, as the next request would see them."""
    return Actor(Membership.objects.select_related("role", "user", "workspace").get(pk=actor.membership.pk))


def test_default_matrix_by_role():
    assert default_grant("sales", "customers.account").as_dict() == {
        "actions": ["view", "create", "change"],
        "scope": "own",
    }
    assert default_grant("manager", "customers.account").scope == "team"
    assert default_grant("readonly", "customers.account").as_dict() == {"actions": ["view"], "scope": "all"}
    assert default_grant("sales", "no.such.type").actions == frozenset()


def test_admin_override_widens_sales_to_all_records_and_is_audited(tenant):
    from kehu.audit.models import AuditEntry

    with tenant.scope():
        other = customers.create_account(tenant.actors["owner"], name="Owner's account")
        sales_role = tenant.actors["sales"].role
        assert other not in accounts_for(tenant.actors["sales"])
        services.change_role(
            tenant.actors["admin"],
            sales_role,
            permissions={
                "customers.account": {"actions": ["view", "create", "change", "delete"], "scope": "all"}
            },
        )
        sales = fresh(tenant.actors["sales"])
        assert other in accounts_for(sales)
        customers.delete_account(sales, other)
        entry = AuditEntry.objects.get(action="permission_change", object_type="workspaces.role")
        assert entry.changes["permissions"][1]["customers.account"]["scope"] == "all"


def test_team_scope_covers_teammates_and_team_records(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        team = services.create_team(owner, "华东销售", [tenant.users["manager"].pk, tenant.users["sales"].pk])
        by_teammate = customers.create_account(tenant.actors["sales"], name="By teammate")
        for_team = customers.create_account(owner, name="Team's", team_id=team.pk)
        outside = customers.create_account(owner, name="Outside")
        seen = set(accounts_for(fresh(tenant.actors["manager"])))
    assert seen == {by_teammate, for_team} and outside not in seen


def test_deactivated_member_loses_access(tenant):
    from kehu.workspaces.services import actor_for

    with tenant.scope():
        services.change_member(tenant.actors["owner"], tenant.actors["sales"].membership, is_active=False)
        assert actor_for(tenant.users["sales"], tenant.workspace) is None


def test_last_owner_cannot_be_demoted(tenant):
    from kehu.core.errors import Conflict

    with tenant.scope(), pytest.raises(Conflict):
        services.change_member(tenant.actors["owner"], tenant.actors["owner"].membership, role_key="sales")


def test_only_owners_grant_or_remove_the_owner_role(tenant):
    from kehu.core.errors import PermissionDenied

    admin = tenant.actors["admin"]
    with tenant.scope():
        with pytest.raises(PermissionDenied):
            services.change_member(admin, admin.membership, role_key="owner")
        with pytest.raises(PermissionDenied):
            services.change_member(admin, tenant.actors["owner"].membership, is_active=False)
        promoted = services.change_member(tenant.actors["owner"], admin.membership, role_key="owner")
        assert promoted.role.key == "owner"


def test_login_lands_in_the_last_used_workspace(tenant, other_tenant):
    user = tenant.users["sales"]
    with scope(workspace=other_tenant.workspace):
        Membership.objects.create(
            workspace=other_tenant.workspace, user=user, role=other_tenant.actors["sales"].role
        )
    client = tenant.web_client("sales")
    client.post("/workspace/switch/", {"workspace": other_tenant.workspace.pk})
    again = tenant.web_client("sales")  # a new session
    assert again.get("/").context["workspace"] == other_tenant.workspace
    assert services.choose_workspace(user, 999999) is None
