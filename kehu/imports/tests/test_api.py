"""The imports API: upload, configure, preview, start, status, report, undo; permissions and isolation."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django_scopes import scope

from kehu.customers.models import Contact
from kehu.imports import services
from kehu.imports.models import ImportJob

CSV = "Name,E-mail,Phone\nAnn,ANN@example.com,13800138000\nBob,bob@,13900139000\n"


def upload(client, content=CSV, target="contacts"):
    return client.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv"),
            "target": target,
        },
    )


@pytest.fixture
def immediate_tasks():
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    ):
        _reset_task_backends()
        yield
    _reset_task_backends()


def test_upload_configure_preview_start_report_undo(
    tenant, immediate_tasks, django_capture_on_commit_callbacks
):
    client = tenant.api_client("admin")
    response = upload(client)
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "draft" and job["mapping"] == {
        "Name": "name",
        "E-mail": "email",
        "Phone": "phone",
    }
    job_id = job["id"]
    response = client.patch(
        f"/api/v1/imports/{job_id}",
        {"options": {"region": "CN"}, "mode": "create"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    preview = client.get(f"/api/v1/imports/{job_id}/preview").json()
    assert preview["rows"][1]["rejected"] is True
    assert preview["rows"][0]["cells"][1] == {
        "column": "E-mail",
        "field": "email",
        "value": "ANN@example.com",
        "cleaned": "ann@example.com",
        "status": "corrected",
        "reason": "Email address lower-cased.",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imports/{job_id}/start")
    assert response.status_code == 200
    status = client.get(f"/api/v1/imports/{job_id}").json()
    assert (status["status"], status["created_count"], status["error_count"], status["progress"]) == (
        "done",
        1,
        1,
        100,
    )
    report = b"".join(client.get(f"/api/v1/imports/{job_id}/report").streaming_content).decode()
    assert "3,E-mail,bob@,,Rejected," in report
    xlsx = client.get(f"/api/v1/imports/{job_id}/report?format=xlsx")
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imports/{job_id}/undo")
    assert response.status_code == 200
    assert client.get(f"/api/v1/imports/{job_id}").json()["status"] == "undone"
    with tenant.scope():
        assert not Contact.objects.exists()


def test_bad_file_is_refused_with_a_clear_message(tenant):
    client = tenant.api_client("admin")
    response = client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("x.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_file" and "PNG" in response.json()["error"]["message"]


def test_targets_list_fields_with_custom_fields(tenant):
    from kehu.customfields.services import create_definition

    with tenant.scope():
        create_definition(
            tenant.actors["admin"],
            object_type="customers.account",
            key="tier",
            label="Tier",
            field_type="text",
        )
    targets = {t["key"]: t for t in tenant.api_client("admin").get("/api/v1/imports/targets").json()}
    assert {"accounts", "contacts", "orders", "activities", "products"} <= set(targets)
    assert "custom.tier" in {f["key"] for f in targets["accounts"]["fields"]}
    assert targets["contacts"]["match_keys"] == ["id", "email", "phone"]


def test_permissions(tenant):
    # Read-only members cannot import at all; marketing may not create contacts.
    assert upload(tenant.api_client("readonly")).status_code == 403
    assert upload(tenant.api_client("marketing")).status_code == 403
    targets = {t["key"] for t in tenant.api_client("readonly").get("/api/v1/imports/targets").json()}
    assert targets == set()
    # Service may change but not create customers: update mode only.
    client = tenant.api_client("service")
    job = upload(client).json()
    response = client.post(f"/api/v1/imports/{job['id']}/start")
    assert response.status_code == 403
    response = client.patch(
        f"/api/v1/imports/{job['id']}",
        {"mode": "update", "match_key": "email"},
        content_type="application/json",
    )
    assert response.status_code == 200


def test_another_members_job_is_not_found_but_admins_see_it(tenant):
    job = upload(tenant.api_client("sales")).json()
    assert tenant.api_client("manager").get(f"/api/v1/imports/{job['id']}").status_code == 404
    assert tenant.api_client("admin").get(f"/api/v1/imports/{job['id']}").status_code == 200
    assert [j["id"] for j in tenant.api_client("sales").get("/api/v1/imports").json()["items"]] == [job["id"]]


def test_cross_workspace_isolation(tenant, other_tenant):
    job = upload(tenant.api_client("admin")).json()
    other = other_tenant.api_client("admin")
    for method, path in (
        ("get", f"/api/v1/imports/{job['id']}"),
        ("get", f"/api/v1/imports/{job['id']}/preview"),
        ("get", f"/api/v1/imports/{job['id']}/report"),
        ("post", f"/api/v1/imports/{job['id']}/start"),
        ("post", f"/api/v1/imports/{job['id']}/undo"),
    ):
        assert getattr(other, method)(path).status_code == 404, path
    assert other.get("/api/v1/imports").json()["items"] == []


def test_records_the_member_may_not_see_are_not_matched(tenant):
    """A sales rep sees only their own contacts: an update by email never touches someone else's."""
    from kehu.customers.services import create_contact

    with tenant.scope():
        create_contact(tenant.actors["admin"], name="Boss", email="boss@example.com")
        mine = create_contact(tenant.actors["sales"], name="Mine", email="mine@example.com")
    actor = tenant.actors["sales"]
    with tenant.scope():
        job = services.upload(
            actor, name="u.csv", chunks=iter([b"email,name\nboss@example.com,X\nmine@example.com,Y\n"])
        )
        services.configure(actor, job, mode="update", match_key="email")
        services.start(actor, job, enqueue=False)
        job = services.run(actor, job.pk)
        mine.refresh_from_db()
        assert (job.updated_count, job.error_count) == (1, 1)
        assert mine.name == "Y" and Contact.objects.get(email="boss@example.com").name == "Boss"


def test_large_uploads_pass_the_api_body_limit(tenant, settings):
    settings.API_MAX_BODY_BYTES = 1000
    content = "name\n" + "\n".join(f"n{i}" for i in range(1000)) + "\n"
    assert len(content) > 1000
    assert upload(tenant.api_client("admin"), content).status_code == 201
    response = tenant.api_client("admin").post(
        "/api/v1/contacts", io.BytesIO(b"{}" + b" " * 2000).read(), content_type="application/json"
    )
    assert response.status_code == 413
    with scope(workspace=tenant.workspace):
        assert ImportJob.objects.count() == 1
