"""Pages through the Django test client: timeline panel (htmx), My tasks, plans, the bell; query counts."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from kehu.activities import plans, services
from kehu.activities.models import Activity, Comment, FollowUpPlan, Notification, Task
from kehu.customers import services as customers

pytestmark = pytest.mark.django_db
ACCOUNT = "customers.account"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def account(tenant):
    with tenant.scope():
        return customers.create_account(tenant.actors["sales"], name="杭州青禾", city="杭州")


def _count(client, url, **extra) -> int:
    client.get(url, **extra)  # warm up: the first request of a session also stamps the membership
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, **extra).status_code == 200
    return len(ctx.captured_queries)


def test_account_page_shows_timeline_and_logs_a_call_inline(tenant, account):
    client = tenant.web_client("sales")
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="timeline-panel"' in page and 'id="log-activity-form"' in page and 'id="tasks-panel"' in page
    response = client.post(
        f"/timeline/{ACCOUNT}/{account.pk}/log/",
        {
            "activity-kind": "call",
            "activity-direction": "outbound",
            "activity-occurred_at": "2026-03-02T10:30",
            "activity-duration_minutes": "15",
            "activity-subject": "Pricing call",
            "activity-body": "Asked for 5% off",
            "activity-outcome": "Quote next week",
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card" id="timeline-panel">') and "Pricing call" in html
    assert "15 minutes" in html
    with tenant.scope():
        call = Activity.objects.get(subject="Pricing call")
        assert call.duration == 900 and call.owner == tenant.users["sales"]
        assert call.links.get().object_id == account.pk


def test_log_form_errors_stay_in_the_panel_and_no_js_redirects(tenant, account):
    client = tenant.web_client("sales")
    bad = client.post(f"/timeline/{ACCOUNT}/{account.pk}/log/", {"activity-kind": "fax"}, **HTMX)
    assert bad.status_code == 200 and bad.context["form"].errors["kind"]
    plain = client.post(
        f"/timeline/{ACCOUNT}/{account.pk}/log/",
        {"activity-kind": "note", "activity-direction": "internal", "activity-subject": "No JS"},
    )
    assert plain.status_code == 302 and plain.url == f"/accounts/{account.pk}/"


def test_comment_with_mention_and_bell(tenant, account, django_capture_on_commit_callbacks):
    client = tenant.web_client("sales")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/timeline/{ACCOUNT}/{account.pk}/comment/", {"comment-body": "@admin 看一下"}, **HTMX
        )
    assert response.status_code == 200 and "@admin 看一下" in response.content.decode()
    admin = tenant.web_client("admin")
    bell = admin.get("/notifications/bell/", **HTMX).content.decode()
    assert 'id="bell-count">1<' in bell and "mentioned you" in bell
    with tenant.scope():
        note = Notification.objects.get()
    assert f'href="/accounts/{account.pk}/"' in bell
    cleared = admin.post(f"/notifications/{note.pk}/read/", **HTMX).content.decode()
    assert "bell-count" not in cleared and "You are all caught up." in cleared
    # The page shell loads the bell lazily (no query on every page for it).
    assert 'hx-get="/notifications/bell/"' in admin.get("/").content.decode()


def test_bell_labels_verbs_registered_by_higher_apps(tenant, monkeypatch):
    """A verb of a higher app shows by its registered label; an unknown one by its key (never a crash)."""
    from kehu.activities import models

    monkeypatch.setattr(models, "EXTRA_VERBS", {})
    models.register_notification_verb("tst_event", "Test event happened")
    with tenant.scope():
        for verb in ("tst_event", "tst_unknown", "mention"):
            Notification.objects.create(
                workspace=tenant.workspace, user=tenant.users["sales"], verb=verb, text=f"text {verb}"
            )
    bell = tenant.web_client("sales").get("/notifications/bell/", **HTMX).content.decode()
    labels = re.findall(r'<span class="badge badge-muted">([^<]*)</span>', bell)
    assert sorted(labels) == ["Test event happened", "mentioned you", "tst_unknown"]


def test_record_pages_by_convention_or_registered(monkeypatch):
    """Links to records: "<app>:<model>-detail", else the page the record's app registered (tickets,
    leads and articles are "<app>:detail"; their notifications and tasks had no link)."""
    from kehu.activities import records
    from kehu.activities.views import record_url

    assert record_url("customers.account", 5) == "/accounts/5/"
    assert (record_url("tickets.ticket", 7), record_url("leads.lead", 3)) == ("/tickets/7/", "/leads/3/")
    assert record_url("knowledge.article", 2) == "/knowledge/2/"
    monkeypatch.setattr(records, "RECORD_PAGES", {})
    monkeypatch.setattr("kehu.activities.views.RECORD_PAGES", records.RECORD_PAGES)
    records.register_record_page("tst.thing", "customers:contact-detail")
    assert (record_url("tst.thing", 4), record_url("tst.other", 4)) == ("/contacts/4/", None)


def test_timeline_filter_load_more_and_query_count_is_flat(tenant, account):
    sales = tenant.actors["sales"]
    client = tenant.web_client("sales")
    url = f"/timeline/{ACCOUNT}/{account.pk}/"
    with tenant.scope():
        contact = customers.create_contact(sales, name="Contact", account_id=account.pk)
        for i in range(5):
            services.log_activity(
                sales,
                links=[(ACCOUNT, account.pk), ("customers.contact", contact.pk)],
                kind="visit" if i % 2 else "call",
                subject=f"S{i}",
                occurred_at=timezone.now() - timedelta(hours=i),
            )
        services.add_comment(sales, record_type=ACCOUNT, record_id=account.pk, body="note")
    small = _count(client, url, **HTMX)
    with tenant.scope():
        for i in range(40):
            services.log_activity(
                sales,
                links=[(ACCOUNT, account.pk)],
                kind="email",
                subject=f"E{i}",
                occurred_at=timezone.now() - timedelta(days=1, minutes=i),
            )
            services.add_comment(sales, record_type=ACCOUNT, record_id=account.pk, body=f"c{i}")
    # The newest page now holds only comments, so the activities query is skipped: never more queries.
    assert _count(client, url, **HTMX) <= small
    # session, user, membership (middleware), the account, then the account's links, its contacts'
    # links (the contacts are a subquery), the page's activities, the comments: 8 whatever the length.
    assert small == 8
    first = client.get(url, **HTMX)
    assert len(first.context["entries"]) == 20 and first.context["next_cursor"]
    more = client.get(url, {"cursor": first.context["next_cursor"]}, **HTMX)
    assert 'id="timeline-more"' in more.content.decode()
    visits = client.get(url, {"kind": "visit"}, **HTMX)
    assert [e.activity.subject for e in visits.context["entries"]] == ["S1", "S3"]
    comments = client.get(url, {"kind": "comment"}, **HTMX)
    assert all(e.comment for e in comments.context["entries"])
    assert client.get(url, {"cursor": "garbage"}, **HTMX).status_code == 400


def test_account_page_query_count_with_panels_is_pinned(tenant, account):
    sales = tenant.actors["sales"]
    client = tenant.web_client("sales")
    with tenant.scope():
        for i in range(3):
            services.log_activity(sales, links=[(ACCOUNT, account.pk)], kind="call", subject=f"C{i}")
            services.create_task(sales, title=f"T{i}", record_type=ACCOUNT, record_id=account.pk)
    few = _count(client, f"/accounts/{account.pk}/")
    with tenant.scope():
        for i in range(15):
            services.log_activity(sales, links=[(ACCOUNT, account.pk)], kind="call", subject=f"D{i}")
            services.create_task(sales, title=f"U{i}", record_type=ACCOUNT, record_id=account.pk)
    assert _count(client, f"/accounts/{account.pk}/") == few


def test_other_workspace_and_hidden_records_are_404(tenant, other_tenant, account):
    with scope(workspace=other_tenant.workspace):
        foreign = customers.create_account(other_tenant.actors["owner"], name="Globex")
    with tenant.scope():
        hidden = customers.create_account(tenant.actors["owner"], name="Owner's")
    client = tenant.web_client("sales")
    for target in (foreign, hidden):
        assert client.get(f"/timeline/{ACCOUNT}/{target.pk}/").status_code == 404
        assert (
            client.post(f"/timeline/{ACCOUNT}/{target.pk}/log/", {"activity-kind": "call"}).status_code == 404
        )
        assert (
            client.post(f"/timeline/{ACCOUNT}/{target.pk}/comment/", {"comment-body": "x"}).status_code == 404
        )
    assert client.get("/timeline/users.user/1/").status_code == 404
    with tenant.scope():
        assert not Comment.objects.exists()


def test_my_tasks_tabs_quick_complete_and_query_count(tenant, account):
    sales = tenant.actors["sales"]
    client = tenant.web_client("sales")
    now = timezone.now()
    with tenant.scope():
        late = services.create_task(sales, title="Late one", due_at=now - timedelta(days=2))
        services.create_task(sales, title="Next month", due_at=now + timedelta(days=30))
        services.create_task(sales, title="Someday")
        services.create_task(tenant.actors["owner"], title="Not mine")
    page = client.get("/tasks/")
    assert [t.title for t in page.context["rows"]] == ["Late one"]
    assert page.context["counts"]["overdue"] == 1 and page.context["counts"]["upcoming"] == 2
    upcoming = client.get("/tasks/?tab=upcoming")
    assert [t.title for t in upcoming.context["rows"]] == ["Next month", "Someday"]

    done = client.post(f"/tasks/{late.pk}/complete/", **HTMX)
    assert done.status_code == 200 and "badge-success" in done.content.decode()
    assert [t.title for t in client.get("/tasks/?tab=done").context["rows"]] == ["Late one"]

    few = _count(client, "/tasks/?tab=upcoming")
    with tenant.scope():
        for i in range(20):
            services.create_task(sales, title=f"More {i}", due_at=now + timedelta(days=3, hours=i))
    assert _count(client, "/tasks/?tab=upcoming") == few
    assert few <= 9  # + the list toolbar (saved views, members); the tab counts are one query


def test_task_form_create_and_edit(tenant, account):
    client = tenant.web_client("sales")
    form = client.get(f"/tasks/new/?record_type={ACCOUNT}&record_id={account.pk}")
    assert form.status_code == 200
    response = client.post(
        "/tasks/new/",
        {
            "title": "Prepare contract",
            "priority": "urgent",
            "status": "open",
            "assignee_id": tenant.users["sales"].pk,
            "record_type": ACCOUNT,
            "record_id": account.pk,
            "due_at": "2026-12-01T09:00",
        },
    )
    assert response.status_code == 302 and response.url == f"/accounts/{account.pk}/"
    with tenant.scope():
        task = Task.objects.get(title="Prepare contract")
    assert "Prepare contract" in client.get(f"/accounts/{account.pk}/").content.decode()
    edit = client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "Prepare contract v2",
            "priority": "high",
            "status": "in_progress",
            "assignee_id": tenant.users["sales"].pk,
        },
    )
    assert edit.status_code == 302
    task.refresh_from_db()
    assert task.title == "Prepare contract v2" and task.status == "in_progress"
    assert client.get("/tasks/99999/edit/").status_code == 404


def test_follow_up_plan_pages_for_managers_only(tenant, account):
    manager = tenant.web_client("manager")
    assert manager.get("/follow-up-plans/").status_code == 200
    response = manager.post(
        "/follow-up-plans/new/",
        {
            "name": "Weekly call",
            "active": "on",
            "record_type": ACCOUNT,
            "condition": '{"city": ["上海", "杭州"]}',
            "trigger": "every",
            "interval": "1",
            "unit": "week",
            "task_title": "Call {name}",
            "due_in_days": "2",
            "priority": "normal",
            "assignee_mode": "owner",
        },
    )
    assert response.status_code == 302
    with tenant.scope():
        plan = FollowUpPlan.objects.get()
    assert plan.condition == {"city": ["上海", "杭州"]}
    bad = manager.post(
        "/follow-up-plans/new/",
        {
            "name": "x",
            "record_type": ACCOUNT,
            "condition": "{not json",
            "trigger": "every",
            "interval": "1",
            "unit": "week",
            "task_title": "t",
            "due_in_days": "1",
            "priority": "normal",
            "assignee_mode": "owner",
        },
    )
    assert bad.status_code == 200 and bad.context["form"].errors["condition"]
    for url in ("/follow-up-plans/", "/follow-up-plans/new/", f"/follow-up-plans/{plan.pk}/edit/"):
        assert tenant.web_client("sales").get(url).status_code == 404
    assert tenant.web_client("sales").post(f"/follow-up-plans/{plan.pk}/run/").status_code == 404
    with tenant.scope():
        plans.update_plan(tenant.actors["manager"], plan, condition={"city": ["杭州"]})
    assert manager.post(f"/follow-up-plans/{plan.pk}/run/").status_code == 302
    tenant.web_client("admin").post(f"/follow-up-plans/{plan.pk}/run/")  # a second run adds nothing
    with tenant.scope():
        # Runs are the workspace's job: every matching record gets its task, assigned to its owner.
        task = Task.objects.get()
    assert task.title == "Call 杭州青禾" and task.assignee == tenant.users["sales"]
