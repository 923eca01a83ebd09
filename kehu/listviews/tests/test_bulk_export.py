"""Bulk actions respect record access; XLSX/CSV exports of the current view; background jobs;
pinned query counts of the list page with filters and custom columns."""

import io

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from kehu.audit.models import AuditEntry
from kehu.customers import services as customers
from kehu.customers.models import Account
from kehu.customfields.services import create_definition
from kehu.listviews import services
from kehu.listviews.filters import encode_spec
from kehu.listviews.models import ListJob

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
SH = {"op": "and", "conditions": [{"field": "city", "lookup": "eq", "value": "上海"}]}


@pytest.fixture
def immediate_tasks():
    from kehu.workspaces.tests.test_tasks import _reset_task_backends

    with override_settings(TASKS=IMMEDIATE):
        _reset_task_backends()
        yield
    _reset_task_backends()


def make_accounts(tenant, n, owner_role="owner", **values):
    with tenant.scope():
        return [
            customers.create_account(
                tenant.actors["owner"], name=f"客户{i:03d}", owner_id=tenant.users[owner_role].pk, **values
            )
            for i in range(n)
        ]


def test_bulk_actions_touch_only_what_the_actor_may_change(tenant):
    mine = make_accounts(tenant, 2, owner_role="sales", city="上海")
    theirs = make_accounts(tenant, 2, owner_role="owner", city="上海")
    sales = tenant.actors["sales"]
    with tenant.scope():
        result = services.run_bulk(
            sales, "customers.account", "add_tag", ids=[a.pk for a in mine + theirs], value="重点"
        )
        assert (result.done, result.skipped) == (2, 2)
        tagged = {a.pk: customers.tags_of(a) for a in Account.objects.all()}
    assert [tagged[a.pk] for a in mine] == [["重点"], ["重点"]] and [tagged[a.pk] for a in theirs] == [[], []]
    with tenant.scope():
        # Sales may not delete at all: refused before anything happens.
        from kehu.core.errors import PermissionDenied

        with pytest.raises(PermissionDenied):
            services.run_bulk(sales, "customers.account", "delete", ids=[mine[0].pk])
        # A bad owner is reported per record and nothing changes.
        owner = tenant.actors["owner"]
        result = services.run_bulk(owner, "customers.account", "assign_owner", ids=[mine[0].pk], value=999999)
        assert (result.done, result.skipped) == (0, 1) and result.problems
        # "All matching" follows the filter spec and the search.
        result = services.run_bulk(
            tenant.actors["owner"],
            "customers.account",
            "assign_owner",
            params={"filters": SH, "q": "客户00"},
            value=tenant.users["manager"].pk,
        )
        assert result.done == 4
        assert set(Account.objects.values_list("owner_id", flat=True)) == {tenant.users["manager"].pk}
        updates = AuditEntry.objects.filter(object_type="customers.account", action="update").count()
    assert updates >= 6  # every record change audited by the customers services


def test_bulk_delete_asks_for_a_confirmation_stating_the_count(tenant):
    make_accounts(tenant, 3, city="上海")
    make_accounts(tenant, 1, city="北京")
    web = tenant.web_client("owner")
    back = "f=" + encode_spec(SH)
    confirm = web.post("/lists/customers.account/bulk/", {"action": "delete", "all": "1", "back": back})
    assert confirm.status_code == 200 and "Delete 3 records" in confirm.content.decode()
    with tenant.scope():
        assert Account.objects.count() == 4
    done = web.post(
        "/lists/customers.account/bulk/", {"action": "delete", "all": "1", "back": back, "confirmed": "1"}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/?" + back
    with tenant.scope():
        assert list(Account.objects.values_list("city", flat=True)) == ["北京"]
        assert AuditEntry.objects.filter(action="delete", object_type="customers.account").count() == 3


def test_bulk_of_another_workspace_or_hidden_records_is_skipped(tenant, other_tenant):
    foreign = make_accounts(other_tenant, 1)[0]
    web = tenant.web_client("owner")
    response = web.post(
        "/lists/customers.account/bulk/",
        {"action": "add_tag", "ids": [foreign.pk], "value_tag": "x", "back": ""},
        follow=True,
    )
    assert "0 changed, 1 skipped." in response.content.decode()
    with other_tenant.scope():
        assert customers.tags_of(Account.objects.get()) == []


def test_large_bulk_changes_run_in_the_background(
    tenant, immediate_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "BULK_SYNC_LIMIT", 2)
    make_accounts(tenant, 3, city="上海")
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        result = services.run_bulk(
            tenant.actors["owner"], "customers.account", "add_tag", params={"filters": SH}, value="批量"
        )
    assert result.job is not None
    with tenant.scope():
        job = ListJob.objects.get()
        assert (job.status, job.row_count, job.kind) == ("done", 3, "bulk")
        assert job.message == "3 changed, 0 skipped."
        assert all(customers.tags_of(a) == ["批量"] for a in Account.objects.all())
    page = tenant.web_client("owner").get("/lists/exports/").content.decode()
    assert "3 changed, 0 skipped." in page


def test_xlsx_export_has_the_views_rows_columns_and_order(tenant):
    with tenant.scope():
        create_definition(
            tenant.actors["owner"],
            object_type="customers.account",
            key="tier",
            label="Tier",
            field_type="text",
        )
        create_definition(
            tenant.actors["owner"],
            object_type="customers.account",
            key="margin",
            label="Margin",
            field_type="percent",
            visible_to_roles=["manager"],
        )
        for name, city in (
            ("b 客户", "上海"),
            ("a 客户", "上海"),
            ("c 客户", "北京"),
            ("=HYPERLINK()", "上海"),
        ):
            customers.create_account(
                tenant.actors["owner"], name=name, city=city, custom={"tier": "T", "margin": 9}
            )
    web = tenant.web_client("owner")
    query = {"f": encode_spec(SH), "sort": "name", "cols": "name,city,custom.tier,custom.margin"}
    response = web.get("/lists/customers.account/export.xlsx", query)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows == [
        ["Name", "City", "Tier", "Margin"],
        ["=HYPERLINK()", "上海", "T", "9 %"],
        ["a 客户", "上海", "T", "9 %"],
        ["b 客户", "上海", "T", "9 %"],
    ]
    with tenant.scope():
        entry = AuditEntry.objects.filter(action="export").latest("pk")
    assert entry.changes["format"] == "xlsx" and entry.changes["filter"] == "(City is 上海)"
    # A role that may not read the hidden field gets no such column (and unknown columns are dropped).
    marketing = tenant.web_client("marketing").get("/lists/customers.account/export.csv", query)
    text = b"".join(marketing.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0] == "Name,City,Tier" and len(text) == 4
    # Sales may not export at all.
    assert tenant.web_client("sales").get("/lists/customers.account/export.xlsx").status_code == 403


def test_large_exports_run_in_the_background_and_only_the_requester_downloads(
    tenant, other_tenant, immediate_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "EXPORT_SYNC_LIMIT", 2)
    make_accounts(tenant, 3, city="上海")
    web = tenant.web_client("owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = web.get("/lists/customers.account/export.xlsx", {"f": encode_spec(SH)})
    assert response.status_code == 302 and response["Location"] == "/lists/exports/"
    with tenant.scope():
        job = ListJob.objects.get()
    assert (job.status, job.row_count, job.kind) == ("done", 3, "export")
    page = web.get("/lists/exports/").content.decode()
    assert f"/lists/exports/{job.pk}/download/" in page
    download = web.get(f"/lists/exports/{job.pk}/download/")
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
    assert len(list(book.active.iter_rows(values_only=True))) == 4
    assert tenant.web_client("admin").get(f"/lists/exports/{job.pk}/download/").status_code == 404
    assert other_tenant.web_client("owner").get(f"/lists/exports/{job.pk}/download/").status_code == 404


def test_job_finished_signal(tenant, immediate_tasks, monkeypatch, django_capture_on_commit_callbacks):
    from kehu.listviews.signals import job_finished

    seen = []

    def listener(sender, job, **kwargs):
        seen.append((job.kind, job.status))

    job_finished.connect(listener)
    try:
        monkeypatch.setattr(services, "EXPORT_SYNC_LIMIT", 0)
        make_accounts(tenant, 1)
        with django_capture_on_commit_callbacks(execute=True):
            tenant.web_client("owner").get("/lists/customers.account/export.csv")
    finally:
        job_finished.disconnect(listener)
    assert seen == [("export", "done")]


def test_list_page_query_count_is_pinned(tenant, django_assert_max_num_queries):
    with tenant.scope():
        create_definition(
            tenant.actors["owner"],
            object_type="customers.account",
            key="tier",
            label="Tier",
            field_type="text",
        )
    make_accounts(tenant, 5, city="上海", custom={"tier": "T"})
    web = tenant.web_client("owner")
    spec = {
        "op": "or",
        "conditions": [
            {"field": "city", "lookup": "eq", "value": "上海"},
            {"field": "custom.tier", "lookup": "eq", "value": "T"},
            {"field": "tag", "lookup": "has", "value": "vip"},
        ],
    }
    query = {"f": encode_spec(spec), "cols": "name,city,owner,custom.tier,created_at", "sort": "-name"}
    first = web.get("/accounts/", query)
    assert len(first.context["rows"]) == 5 and "<td>T</td>" in first.content.decode()
    with django_assert_max_num_queries(60) as counted:
        web.get("/accounts/", query)
    baseline = len(counted.captured_queries)
    make_accounts(tenant, 20, city="上海", custom={"tier": "T"})
    with django_assert_max_num_queries(baseline):
        response = web.get("/accounts/", query)
    assert len(response.context["rows"]) == 25
    contacts = web.get("/contacts/", {"cols": "name,account,account_city,owner"})
    assert contacts.status_code == 200


def test_count_is_computed_on_demand(tenant):
    make_accounts(tenant, 3, city="上海")
    web = tenant.web_client("owner")
    html = web.get("/lists/customers.account/count/", {"f": encode_spec(SH)}).content.decode()
    assert "All 3 matching records" in html and 'name="all"' in html
