"""Batch scan, review queue, "not a duplicate", bulk confirm; API permissions and isolation."""

import json

import pytest
from django.test import override_settings

from kehu.customers import services as customers
from kehu.customers.models import Contact
from kehu.duplicates import services
from kehu.duplicates.models import Candidate, ScanJob


def _seed(tenant):
    owner = tenant.actors["owner"]
    with tenant.scope():
        account = customers.create_account(owner, name="星辰科技")
        made = {
            "a": customers.create_contact(owner, name="王伟", account_id=account.pk, email="ww@xc.cn"),
            "b": customers.create_contact(owner, name="Wang Wei", email="WW@xc.cn"),
            "c": customers.create_contact(owner, name="Wei Wang", account_id=account.pk, phone="13900139000"),
            "d": customers.create_contact(owner, name="李娜", phone="139 0013 9000"),
            "e": customers.create_contact(owner, name="Zhou Jie", email="zj@else.cn"),
        }
    return {k: v.pk for k, v in made.items()}


def _pairs(tenant, status="open"):
    with tenant.scope():
        return {
            (a, b): fields
            for a, b, fields in Candidate.objects.filter(status=status).values_list(
                "record_a", "record_b", "matched_fields"
            )
        }


def test_scan_finds_pairs_and_clusters(tenant):
    ids = _seed(tenant)
    with tenant.scope():
        job = services.start_scan(tenant.actors["owner"], "customers.contact", enqueue=False)
        job = services.run_scan_job(tenant.actors["owner"], job.pk)
    assert job.status == ScanJob.Status.DONE and job.done == job.total == 5
    pairs = _pairs(tenant)
    assert pairs[(ids["a"], ids["b"])] == ["email"]
    assert "name" in pairs[(ids["a"], ids["c"])]  # swapped pinyin name at the same company
    assert pairs[(ids["c"], ids["d"])] == ["phone"]
    assert not any(ids["e"] in pair for pair in pairs)
    with tenant.scope():
        clusters = set(Candidate.objects.values_list("cluster", flat=True))
    assert clusters == {ids["a"]}  # a–b, a–c, c–d are one group
    assert job.stats["comparisons"] >= len(pairs) and job.stats["skipped_blocks"] == 0


def test_not_a_duplicate_is_never_proposed_again(tenant):
    ids = _seed(tenant)
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.run_scan_job(owner, services.start_scan(owner, "customers.contact", enqueue=False).pk)
        pair = Candidate.objects.get(record_a=ids["c"], record_b=ids["d"])
    client = tenant.api_client("owner")
    assert client.post(f"/api/v1/duplicates/candidates/{pair.pk}/dismiss").json()["status"] == "dismissed"
    with tenant.scope():
        services.run_scan_job(owner, services.start_scan(owner, "customers.contact", enqueue=False).pk)
        assert Candidate.objects.get(record_a=ids["c"], record_b=ids["d"]).status == "dismissed"
        # and the create-time check of that record leaves the other one out
        from kehu.duplicates.finder import find_duplicates

        found = find_duplicates(tenant.workspace, "customers.contact", {"phone": "13900139000"}, ids["c"])
        assert ids["d"] not in [m.record_id for m in found]
    dismissed = client.get("/api/v1/duplicates/candidates?object_type=customers.contact&status=dismissed")
    assert [c["id"] for c in dismissed.json()["items"]] == [pair.pk]


@pytest.fixture
def immediate_tasks():
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    ):
        _reset_task_backends()
        yield
    _reset_task_backends()


def test_review_queue_api_sort_filter_and_bulk_confirm(
    tenant, immediate_tasks, django_capture_on_commit_callbacks
):
    ids = _seed(tenant)
    client = tenant.api_client("owner")
    with django_capture_on_commit_callbacks(execute=True):  # the job is enqueued on commit
        started = client.post(
            "/api/v1/duplicates/scans",
            json.dumps({"object_type": "customers.contact"}),
            content_type="application/json",
        )
    assert started.status_code == 202
    scan = client.get(f"/api/v1/duplicates/scans/{started.json()['id']}").json()
    assert scan["status"] == "done" and scan["percent"] == 100
    queue = client.get("/api/v1/duplicates/candidates?object_type=customers.contact").json()["items"]
    scores = [c["score"] for c in queue]
    assert scores == sorted(scores, reverse=True) and len(queue) == 3
    assert all(
        c["score"] >= 100
        for c in client.get(
            "/api/v1/duplicates/candidates?object_type=customers.contact&min_score=100"
        ).json()["items"]
    )
    result = client.post(
        "/api/v1/duplicates/candidates/confirm",
        json.dumps({"object_type": "customers.contact", "min_score": 100}),
        content_type="application/json",
    ).json()
    assert result["merged"] >= 1
    with tenant.scope():
        assert Contact.objects.count() == 5 - result["merged"]
        assert not Candidate.objects.filter(status="open", score__gte=100).exists()
    assert ids


def test_queue_permissions_and_isolation(tenant, other_tenant):
    _seed(tenant)
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.run_scan_job(owner, services.start_scan(owner, "customers.contact", enqueue=False).pk)
        pair = Candidate.objects.first()
        job = ScanJob.objects.first()
    other = other_tenant.api_client("owner")
    assert other.get("/api/v1/duplicates/candidates?object_type=customers.contact").json()["items"] == []
    assert other.post(f"/api/v1/duplicates/candidates/{pair.pk}/dismiss").status_code == 404
    assert other.post(f"/api/v1/duplicates/candidates/{pair.pk}/merge").status_code == 404
    assert other.get(f"/api/v1/duplicates/scans/{job.pk}").status_code == 404
    # sales sees only its own records: the owner's pairs are hidden from it
    sales = tenant.api_client("sales")
    assert sales.get("/api/v1/duplicates/candidates?object_type=customers.contact").json()["items"] == []
    assert sales.post(f"/api/v1/duplicates/candidates/{pair.pk}/dismiss").status_code == 404
    readonly = tenant.api_client("readonly")
    scan = readonly.post(
        "/api/v1/duplicates/scans",
        json.dumps({"object_type": "customers.contact"}),
        content_type="application/json",
    )
    assert scan.status_code == 403


def test_queue_page_and_dismiss_button(tenant):
    ids = _seed(tenant)
    owner = tenant.actors["owner"]
    with tenant.scope():
        services.run_scan_job(owner, services.start_scan(owner, "customers.contact", enqueue=False).pk)
        pair = Candidate.objects.get(record_a=ids["a"], record_b=ids["b"])
    client = tenant.web_client("owner")
    page = client.get("/duplicates/?type=customers.contact")
    assert page.status_code == 200 and "王伟" in page.content.decode() and "Wang Wei" in page.content.decode()
    assert client.post(f"/duplicates/pairs/{pair.pk}/dismiss/").status_code == 302
    with tenant.scope():
        assert Candidate.objects.get(pk=pair.pk).status == "dismissed"
    assert client.get("/settings/duplicates/?type=customers.account").status_code == 200
    assert tenant.web_client("sales").get("/settings/duplicates/").status_code == 404
    response = client.post(
        "/settings/duplicates/new/?type=customers.account",
        {
            "name": "Same tax number",
            "kind": "exact",
            "action": "block",
            "threshold": 100,
            "is_active": "on",
            "field_0": "custom.tax_no",
            "weight_0": "1",
            "min_0": "0",
        },
    )
    assert response.status_code == 302
    assert "Same tax number" in client.get("/settings/duplicates/?type=customers.account").content.decode()
