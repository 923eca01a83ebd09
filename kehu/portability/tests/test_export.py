"""Full workspace export and import: permissions, isolation, audit, refusals, the command line."""

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope, scopes_disabled

from kehu.audit.models import AuditEntry
from kehu.core.errors import Conflict, ValidationFailed
from kehu.customers import services as customers
from kehu.customers.models import Contact
from kehu.portability import services
from kehu.portability.exporter import export_workspace
from kehu.portability.graph import EXCLUDED, nodes, undeclared_id_fields
from kehu.portability.importer import import_workspace
from kehu.workspaces.models import Workspace
from kehu.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db


def test_every_workspace_model_is_exported_or_excluded_with_a_reason():
    from django.apps import apps

    from kehu.core.models import WorkspaceModel

    labels = {m._meta.label_lower for m in apps.get_models() if issubclass(m, WorkspaceModel)}
    assert labels - set(EXCLUDED) <= set(nodes())
    assert undeclared_id_fields() == []
    order = list(nodes())
    # Targets before the rows that point to them (except deferred cycles).
    assert order.index("customers.account") < order.index("customers.contact") < order.index("commerce.order")
    assert order.index("activities.activity") < order.index("activities.activitylink")


@pytest.fixture
def two(tenant, other_tenant):
    with tenant.scope():
        acme = customers.create_account(tenant.actors["owner"], name="=HYPERLINK(\"http://x\")")
        customers.create_contact(tenant.actors["owner"], name="张伟", account_id=acme.pk, email="zw@acme.cn")
    with other_tenant.scope():
        customers.create_account(other_tenant.actors["owner"], name="Globex secret 机密")
        customers.create_contact(other_tenant.actors["owner"], name="Other person", email="op@globex.test")
    return tenant, other_tenant


def _export(tenant) -> bytes:
    target = io.BytesIO()
    with tenant.scope():
        export_workspace(tenant.workspace, target)
    return target.getvalue()


def test_export_holds_the_workspace_and_nothing_of_another(two):
    tenant, _other = two
    data = _export(tenant)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        everything = b"".join(zf.read(name) for name in zf.namelist())
        contacts = [json.loads(x) for x in zf.read("data/customers.contact.jsonl").splitlines()]
        users = [json.loads(x) for x in zf.read("users.jsonl").splitlines()]
        account_csv = zf.read("csv/customers.account.csv").decode("utf-8-sig")
    assert manifest["workspace"]["slug"] == "acme" and manifest["format_version"] == 1
    assert [c["name"] for c in contacts] == ["张伟"]
    assert b"Globex secret" not in everything and b"globex.test" not in everything
    assert {u["email"] for u in users} == {u.email for u in tenant.users.values()}
    # CSV copies for people never run a formula.
    assert "'=HYPERLINK" in account_csv
    table = next(f for f in manifest["files"] if f.get("table") == "customers.contact")
    assert table["rows"] == 1 and len(table["sha256"]) == 64
    assert {"name": "account_id", "type": "ForeignKey", "null": True, "references": "customers.account"} in (
        table["schema"]["fields"]
    )


def test_only_owners_and_admins_export_and_downloads_are_audited(two, django_capture_on_commit_callbacks):
    tenant, other = two
    for role in ("readonly", "sales", "manager", "marketing"):
        assert tenant.api_client(role).post("/api/v1/workspace-exports").status_code == 403, role
        assert tenant.web_client(role).get("/settings/export/").status_code == 404, role
    admin = tenant.api_client("admin")
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post("/api/v1/workspace-exports")
    assert response.status_code == 202
    job_id = response.json()["id"]
    with tenant.scope():
        assert admin.post("/api/v1/workspace-exports").status_code == 409  # one at a time
        services.run_export(tenant.actors["admin"], job_id)
    status = admin.get(f"/api/v1/workspace-exports/{job_id}").json()
    assert status["status"] == "done" and status["percent"] == 100 and status["download_url"]
    download = admin.get(status["download_url"])
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")
    web = tenant.web_client("owner").get(f"/settings/export/{job_id}/download/")
    assert web.status_code == 200
    with tenant.scope():
        steps = list(AuditEntry.objects.filter(object_type="portability.export").values_list(
            "changes__step", "actor__email"))
    assert ("requested", "admin@acme.test") in steps and ("downloaded", "admin@acme.test") in steps
    assert ("downloaded", "owner@acme.test") in steps
    # Readonly may not download; another workspace sees no such job.
    assert tenant.api_client("readonly").get(status["download_url"]).status_code == 403
    assert other.api_client("owner").get(f"/api/v1/workspace-exports/{job_id}").status_code == 404
    assert other.api_client("owner").get(status["download_url"]).status_code == 404
    assert other.web_client("owner").get(f"/settings/export/{job_id}/download/").status_code == 404
    page = tenant.web_client("owner").get("/settings/export/").content.decode()
    assert f"/settings/export/{job_id}/download/" in page


def test_import_refuses_a_non_empty_workspace_and_a_damaged_export(two):
    tenant, _other = two
    data = _export(tenant)
    with pytest.raises(Conflict, match="not empty"):
        import_workspace(io.BytesIO(data), slug="acme")
    with pytest.raises(ValidationFailed) as error:
        import_workspace(io.BytesIO(b"not a zip"), slug="x1")
    assert "not a zip" in str(error.value.details[0].message)

    def rewrite(change) -> bytes:
        source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name in source.namelist():
                target.writestr(name, change(name, source.read(name)))
        return out.getvalue()

    tampered = rewrite(
        lambda n, b: b.replace("张伟".encode(), "李四".encode()) if n.endswith("contact.jsonl") else b
    )
    with pytest.raises(ValidationFailed) as error:
        import_workspace(io.BytesIO(tampered), slug="x2")
    assert "Checksum mismatch in data/customers.contact.jsonl" in str(error.value.details[0].message)

    def future(name, body):
        if name != "manifest.json":
            return body
        manifest = json.loads(body)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()

    with pytest.raises(ValidationFailed) as error:
        import_workspace(io.BytesIO(rewrite(future)), slug="x3")
    assert "Unknown export format version 99" in str(error.value.details[0].message)
    with scopes_disabled():
        assert not Workspace.objects.filter(slug__in=["x1", "x2", "x3"]).exists()


def test_import_into_an_empty_existing_workspace_and_missing_users(two, make_user):
    tenant, _other = two
    data = _export(tenant)
    newcomer = make_user("newcomer@acme.test")
    with scopes_disabled():
        empty = create_workspace("Empty", newcomer, slug="empty")
        # A user missing on this server is created inactive, without a password.
        tenant.users["service"].email = "gone@elsewhere.test"
        tenant.users["service"].save()
    zipped = zipfile.ZipFile(io.BytesIO(data))
    users = [json.loads(x) for x in zipped.read("users.jsonl").splitlines()]
    service = next(u for u in users if u["email"] == "service@acme.test")
    workspace, counts = import_workspace(io.BytesIO(data), slug="empty")
    assert workspace.pk == empty.pk and counts["customers.contact"] == 1
    with scope(workspace=workspace):
        from kehu.workspaces.models import Membership

        emails = set(Membership.objects.values_list("user__email", flat=True))
        contact = Contact.objects.select_related("account").get()
    assert {"owner@acme.test", "newcomer@acme.test", service["email"]} <= emails
    assert contact.account.name.startswith("=HYPERLINK") and contact.workspace_id == workspace.pk
    from kehu.users.models import User

    created = User.objects.get(email="service@acme.test")
    assert not created.is_active and not created.has_usable_password()


def test_command_line_export_and_import(two, tmp_path):
    tenant, _other = two
    path = tmp_path / "acme.zip"
    err = io.StringIO()
    call_command("workspace", "export", "acme", "-o", str(path), stderr=err)
    assert path.exists() and "rows" in err.getvalue()
    out = io.StringIO()
    call_command("workspace", "import", str(path), "--slug", "acme-copy", stdout=out, stderr=io.StringIO())
    assert "acme-copy" in out.getvalue()
    with scopes_disabled():
        copy = Workspace.objects.get(slug="acme-copy")
        assert Contact.objects.filter(workspace=copy, name="张伟").exists()
    with pytest.raises(CommandError, match="not empty"):
        call_command("workspace", "import", str(path), "--slug", "acme", stdout=io.StringIO(),
                     stderr=io.StringIO())
    with tenant.scope():
        entries = AuditEntry.objects.filter(object_type="portability.export", changes__step="command line")
        assert entries.exists()
