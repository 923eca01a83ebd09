"""The ``kehu`` administration commands: they write through the services, so every write is audited."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.cli import main
from kehu.users.models import User
from kehu.workspaces.models import ApiKey, Membership, Workspace
from kehu.workspaces.services import authenticate_api_key

STRONG = "Lantern-Orbit-7731"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_workspace_create_makes_owner_and_audits():
    out, _ = run("workspace", "create", "--name", "上海明远", "--slug", "mingyuan",
                 "--owner", "Boss@Mingyuan.CN", "--password", STRONG, "--region", "cn", "--currency", "cny")
    workspace = Workspace.objects.get(slug="mingyuan")
    owner = User.objects.get(email="boss@mingyuan.cn")
    assert owner.check_password(STRONG)
    assert (workspace.name, workspace.default_region, workspace.base_currency) == ("上海明远", "CN", "CNY")
    with scopes_disabled():
        membership = Membership.objects.get(workspace=workspace, user=owner)
        assert membership.role.key == "owner"
        assert AuditEntry.objects.filter(workspace=workspace, object_type="workspaces.workspace",
                                         action=AuditEntry.Action.CREATE).exists()
    assert "mingyuan" in out
    assert STRONG not in out  # a given password is never echoed


@pytest.mark.django_db
def test_workspace_create_without_password_generates_one_and_shows_it_once():
    out, _ = run("workspace", "create", "--name", "Northwind", "--owner", "ops@northwind.example",
                 "--no-input")
    password = out.strip().splitlines()[-1].rsplit(": ", 1)[1]
    assert User.objects.get(email="ops@northwind.example").check_password(password)
    assert Workspace.objects.get(slug="northwind").name == "Northwind"


@pytest.mark.django_db
def test_workspace_create_reuses_existing_owner_and_rejects_taken_slug(tenant):
    run("workspace", "create", "--name", "Second", "--slug", "second", "--owner", "owner@acme.test")
    with scopes_disabled():
        assert Membership.objects.filter(user=tenant.users["owner"]).count() == 2
    with pytest.raises(CommandError, match="already taken"):
        run("workspace", "create", "--name", "Again", "--slug", "acme", "--owner", "owner@acme.test")


@pytest.mark.django_db
def test_weak_password_is_refused():
    with pytest.raises(CommandError):
        run("workspace", "create", "--name", "Weak", "--owner", "weak@example.com", "--password", "12345")
    assert not User.objects.filter(email="weak@example.com").exists()
    assert not Workspace.objects.filter(slug="weak").exists()


@pytest.mark.django_db
def test_workspace_list(tenant, other_tenant):
    out, _ = run("workspace", "list")
    lines = out.splitlines()
    assert any(line.startswith("acme") and "Acme 示例公司" in line for line in lines)
    assert any(line.startswith("globex") for line in lines)


@pytest.mark.django_db
def test_user_create_adds_member_with_role_audited_as_owner(tenant):
    run("user", "create", "--email", "new.rep@acme.test", "--name", "新销售", "--password", STRONG,
        "--workspace", "acme", "--role", "sales")
    user = User.objects.get(email="new.rep@acme.test")
    assert user.name == "新销售" and user.check_password(STRONG)
    with tenant.scope():
        membership = Membership.objects.get(user=user)
        assert membership.role.key == "sales"
        entry = AuditEntry.objects.get(object_type="workspaces.membership", object_id=str(membership.pk))
    assert entry.actor == tenant.users["owner"]
    assert entry.action == AuditEntry.Action.CREATE


@pytest.mark.django_db
def test_user_create_rejects_unknown_role_and_existing_member(tenant):
    with pytest.raises(CommandError):
        run("user", "create", "--email", "x@acme.test", "--password", STRONG, "--workspace", "acme",
            "--role", "emperor")
    with pytest.raises(CommandError, match="already a member"):
        run("user", "create", "--email", "sales@acme.test", "--workspace", "acme", "--role", "sales")
    with pytest.raises(CommandError, match="exists"):
        run("user", "create", "--email", "sales@acme.test", "--password", STRONG)


@pytest.mark.django_db
def test_apikey_create_prints_a_working_key_once_and_revoke_disables_it(tenant, other_tenant):
    out, err = run("apikey", "create", "--workspace", "acme", "--user", "sales@acme.test", "--name", "zapier")
    raw = out.strip()
    assert raw.startswith("kehu_") and "\n" not in raw
    actor = authenticate_api_key(raw)
    assert actor is not None
    assert actor.user == tenant.users["sales"] and actor.workspace == tenant.workspace
    with scopes_disabled():
        key = ApiKey.objects.get(prefix=actor.api_key.prefix)
        assert key.name == "zapier" and raw not in key.key_hash  # only the hash is stored
        assert AuditEntry.objects.filter(object_type="workspaces.apikey", object_id=str(key.pk)).exists()
    assert key.prefix in err

    run("apikey", "revoke", "--prefix", key.prefix)
    assert authenticate_api_key(raw) is None
    with scopes_disabled():
        assert AuditEntry.objects.filter(action=AuditEntry.Action.REVOKE, object_id=str(key.pk)).exists()


@pytest.mark.django_db
def test_apikey_create_refuses_non_members_and_unknown_prefix(tenant, other_tenant):
    with pytest.raises(CommandError, match="Not an active member"):
        run("apikey", "create", "--workspace", "acme", "--user", "sales@globex.test")
    with pytest.raises(CommandError, match="No workspace"):
        run("apikey", "create", "--workspace", "nope", "--user", "sales@acme.test")
    with pytest.raises(CommandError, match="No API key"):
        run("apikey", "revoke", "--prefix", "deadbeef")


def test_worker_explains_celery(settings):
    settings.TASK_BACKEND = "celery"
    settings.CELERY_BROKER_URL = "redis://:hunter2@redis.internal:6379/0"
    out, _ = run("worker")
    assert "celery -A kehu.celery worker" in out
    assert "hunter2" not in out  # the broker password is not printed


def test_serve_refuses_debug(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="DEBUG"):
        run("serve")


def test_cli_main_runs_django_commands(capsys):
    main(["kehu", "help", "workspace"])
    out = capsys.readouterr().out
    assert "usage: kehu workspace" in out and "create" in out
