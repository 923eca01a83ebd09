"""The import wizard pages: upload, mapping and preview, start, progress, history, report; access."""

from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.customers.models import Contact
from kehu.imports.models import ImportJob

CSV = "姓名,手机,邮箱\n张伟,138 0013 8000,ZW@example.com\n李娜,123,lina@example.com\n"


def test_wizard_from_upload_to_report(tenant, django_capture_on_commit_callbacks, monkeypatch):
    from kehu.imports import services

    monkeypatch.setattr(services, "_enqueue_run", lambda actor, job: services.run(actor, job.pk))
    client = tenant.web_client("sales")
    page = client.get("/imports/")
    assert page.status_code == 200 and "import-upload" in page.text
    response = client.post(
        "/imports/upload/", {"target": "contacts", "file": SimpleUploadedFile("客户.csv", CSV.encode("gbk"))}
    )
    with tenant.scope():
        job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    page = client.get(f"/imports/{job.pk}/")
    assert page.status_code == 200 and "gb18030" in page.text and 'value="mobile" selected' in page.text
    preview = client.get(f"/imports/{job.pk}/preview/")
    assert "+8613800138000" in preview.text and 'data-status="corrected"' in preview.text
    assert "rejected" in preview.text
    response = client.post(
        f"/imports/{job.pk}/configure/",
        {
            "target": "contacts",
            "mode": "create",
            "region": "CN",
            "date_order": "ymd",
            "map-0": "name",
            "map-1": "mobile",
            "map-2": "email",
            "next": "start",
            "save_template": "Excel 客户",
        },
    )
    assert response.status_code == 302
    with tenant.scope():
        job.refresh_from_db()
        assert job.status == "done" and Contact.objects.count() == 1
    progress = client.get(f"/imports/{job.pk}/progress/")
    assert "hx-trigger" not in progress.text and "Done" in progress.text
    page = client.get(f"/imports/{job.pk}/")
    assert "import-undo" in page.text
    assert "import-issues" in page.text
    report = client.get(f"/imports/{job.pk}/report.csv")
    assert "123" in b"".join(report.streaming_content).decode()
    assert client.get(f"/imports/{job.pk}/report.xlsx").status_code == 200
    assert "客户.csv" in client.get("/imports/").text


def test_running_job_polls_for_progress(tenant, make_job):
    job = make_job(CSV)
    with tenant.scope():
        ImportJob.objects.filter(pk=job.pk).update(
            status="running", total_rows=2, cursor=1, rows_per_second=10
        )
    text = tenant.web_client("admin").get(f"/imports/{job.pk}/progress/").text
    assert 'hx-trigger="every 1s"' in text and "50%" in text


def test_other_members_and_workspaces_get_404(tenant, other_tenant, make_job):
    job = make_job(CSV, role="sales")
    assert tenant.web_client("manager").get(f"/imports/{job.pk}/").status_code == 404
    assert other_tenant.web_client("owner").get(f"/imports/{job.pk}/").status_code == 404
    assert other_tenant.web_client("owner").get(f"/imports/{job.pk}/report.csv").status_code == 404
    assert tenant.web_client("admin").get(f"/imports/{job.pk}/").status_code == 200


def test_bad_upload_shows_the_reason(tenant):
    client = tenant.web_client("admin")
    response = client.post(
        "/imports/upload/",
        {"target": "contacts", "file": SimpleUploadedFile("x.csv", b"%PDF-1.4 junk")},
        follow=True,
    )
    assert "PDF" in response.text
