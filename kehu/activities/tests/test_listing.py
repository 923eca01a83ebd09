"""The activities and tasks lists on the list machinery: the pages, filters, sort, saved views,
quick tabs, exports, bulk actions with permissions, the API's ?filters=, isolation, query counts."""

import csv
import io
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from kehu.activities import services
from kehu.activities.models import Activity, Task
from kehu.customers import services as customers
from kehu.listviews import services as lists
from kehu.listviews.filters import encode_spec

pytestmark = pytest.mark.django_db
ACCOUNT = "customers.account"


def spec(*conditions, op="and") -> dict:
    return {"op": op, "conditions": list(conditions)}


def cond(field, lookup, value) -> dict:
    return {"field": field, "lookup": lookup, "value": value}


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def timeline(tenant):
    """The rep's calls and a visit on their account, and the owner's note on a secret account whose
    activity belongs to the manager (the manager sees the activity, not the account)."""
    sales, owner = tenant.actors["sales"], tenant.actors["owner"]
    now = timezone.now()
    with tenant.scope():
        mine = customers.create_account(sales, name="杭州青禾", city="杭州")
        secret = customers.create_account(owner, name="Secret Co")
        call = services.log_activity(
            sales,
            links=[(ACCOUNT, mine.pk)],
            kind="call",
            subject="Pricing call",
            outcome="Wants a quote",
            duration=600,
            occurred_at=now - timedelta(days=1),
        )
        visit = services.log_activity(
            sales,
            links=[(ACCOUNT, mine.pk)],
            kind="visit",
            subject="Site visit",
            occurred_at=now - timedelta(days=3),
        )
        short = services.log_activity(
            sales, kind="call", subject="Quick check", duration=60, occurred_at=now - timedelta(days=2)
        )
        note = services.log_activity(
            owner,
            links=[(ACCOUNT, secret.pk)],
            kind="note",
            subject="Board note",
            owner_id=tenant.users["manager"].pk,
            occurred_at=now,
        )
    return {"account": mine, "secret": secret, "call": call, "visit": visit, "short": short, "note": note}


def subjects(response) -> list[str]:
    return [a.subject for a in response.context["rows"]]


def test_activity_list_renders_newest_first_with_linked_accounts(tenant, timeline):
    page = tenant.web_client("sales").get("/activities/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="list-filters"' in html and 'id="nav-activities"' in html
    assert subjects(page) == ["Pricing call", "Quick check", "Site visit"]  # not the manager's note
    assert f'href="/accounts/{timeline["account"].pk}/">杭州青禾</a>' in html
    # The manager sees their activity but not the name of an account they may not see.
    manager = tenant.web_client("manager").get("/activities/", {"cols": "subject,account"})
    assert subjects(manager) == ["Board note"] and "Secret Co" not in manager.content.decode()
    assert manager.context["rows"][0].linked_account_name is None


def test_activity_filters_and_sort(tenant, timeline):
    web = tenant.web_client("owner")

    def shown(*conditions, **extra):
        return subjects(web.get("/activities/", {"f": encode_spec(spec(*conditions)), **extra}))

    assert shown(cond("kind", "eq", "call")) == ["Pricing call", "Quick check"]
    assert shown(cond("account.name", "contains", "青禾"), sort="occurred_at") == [
        "Site visit",
        "Pricing call",
    ]
    assert shown(cond("account.name", "isnull", "true")) == ["Quick check"]
    assert shown(cond("account.name", "ne", "Secret Co"), cond("duration", "gte", "300")) == ["Pricing call"]
    assert shown(cond("owner", "eq", tenant.users["manager"].pk)) == ["Board note"]
    assert shown(cond("occurred_at", "relative", "last_7_days"), cond("outcome", "contains", "quote")) == [
        "Pricing call"
    ]
    assert subjects(web.get("/activities/", {"q": "visit"})) == ["Site visit"]
    # Only the indexed sort key is offered.
    assert web.get("/activities/", {"sort": "created_at"}, follow=True).context["list_state"].ordering == ""


def test_activity_saved_view_export_and_bulk(tenant, timeline):
    api = tenant.api_client("sales")
    created = api.post(
        "/api/v1/views",
        json.dumps(
            {
                "object_type": "activities.activity",
                "name": "Calls",
                "filters": spec(cond("kind", "eq", "call")),
                "ordering": "occurred_at",
                "columns": ["occurred_at", "subject", "duration"],
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    view = tenant.web_client("sales").get("/activities/", {"view": created.json()["id"]})
    assert subjects(view) == ["Quick check", "Pricing call"]
    assert [c.key for c in view.context["list_columns"]] == ["occurred_at", "subject", "duration"]
    # Marketing may export every activity; the linked account's name is in the file.
    query = {"f": encode_spec(spec(cond("kind", "ne", "note"))), "cols": "subject,account,duration"}
    rows = csv_rows(tenant.web_client("marketing").get("/lists/activities.activity/export.csv", query))
    assert rows == [
        ["Subject", "Account", "Duration (minutes)"],
        ["Pricing call", "杭州青禾", "10"],
        ["Quick check", "", "1"],
        ["Site visit", "杭州青禾", ""],
    ]
    assert tenant.web_client("sales").get("/lists/activities.activity/export.csv").status_code == 403
    ids = [a.pk for a in timeline.values() if isinstance(a, Activity)]
    with tenant.scope():
        moved = lists.run_bulk(
            tenant.actors["sales"],
            "activities.activity",
            "assign_owner",
            ids=ids,
            value=tenant.users["owner"].pk,
        )
        assert (moved.done, moved.skipped) == (3, 1)  # the manager's note is not the rep's
        gone = lists.run_bulk(tenant.actors["owner"], "activities.activity", "delete", ids=ids[:1])
        assert gone.done == 1 and not Activity.objects.filter(pk=ids[0]).exists()


@pytest.fixture
def tasks(tenant):
    sales, owner = tenant.actors["sales"], tenant.actors["owner"]
    now = timezone.now()
    with tenant.scope():
        account = customers.create_account(sales, name="杭州青禾")
        late = services.create_task(
            sales, title="Late one", due_at=now - timedelta(days=2), record_type=ACCOUNT, record_id=account.pk
        )
        soon = services.create_task(
            sales, title="Next month", due_at=now + timedelta(days=30), priority="high"
        )
        undated = services.create_task(sales, title="Someday")
        done = services.create_task(sales, title="Finished", status="done")
        theirs = services.create_task(owner, title="Not mine", assignee_id=owner.user.pk)
    return {
        "account": account,
        "late": late,
        "soon": soon,
        "undated": undated,
        "done": done,
        "theirs": theirs,
    }


def titles(response) -> list[str]:
    return [t.title for t in response.context["rows"]]


def test_tasks_page_quick_tabs_are_filters(tenant, tasks):
    web = tenant.web_client("sales")
    default = web.get("/tasks/")
    html = default.content.decode()
    assert titles(default) == ["Late one"]  # no default view: the "Overdue" tab
    assert default.context["counts"]["overdue"] == 1 and default.context["counts"]["upcoming"] == 2
    assert [t["key"] for t in default.context["tabs"] if t["active"]] == ["overdue"]
    assert f'href="/accounts/{tasks["account"].pk}/">杭州青禾</a>' in html  # the linked record
    assert titles(web.get("/tasks/", {"tab": "upcoming"})) == ["Next month", "Someday"]
    assert titles(web.get("/tasks/", {"tab": "mine"})) == ["Late one", "Next month", "Someday"]
    assert titles(web.get("/tasks/", {"tab": "done"})) == ["Finished"]
    # A tab is a filter spec: refined by another condition, it stays in the URL state.
    upcoming = web.get("/tasks/", {"tab": "upcoming"})
    refined = dict(upcoming.context["state_params"])
    narrowed = spec(*upcoming.context["list_state"].filters["conditions"], cond("priority", "eq", "high"))
    refined["f"] = encode_spec(narrowed)
    assert titles(web.get("/tasks/", refined)) == ["Next month"]
    # "All" shows every task the rep may see, soonest due first, undated last.
    assert titles(web.get("/tasks/", {"all": "1"})) == ["Late one", "Next month", "Someday", "Finished"]
    # A saved default view replaces the overdue tab as the page's start.
    web.post(
        "/lists/activities.task/views/",
        {"name": "High", "f": encode_spec(spec(cond("priority", "eq", "high"))), "is_default": "1"},
    )
    assert titles(web.get("/tasks/")) == ["Next month"]


def test_quick_complete_from_the_list(tenant, tasks):
    web = tenant.web_client("sales")
    html = web.get("/tasks/", {"tab": "overdue"}).content.decode()
    assert f'hx-post="/tasks/{tasks["late"].pk}/complete/"' in html
    cell = web.post(f"/tasks/{tasks['late'].pk}/complete/", {"cell": "1"}, HTTP_HX_REQUEST="true")
    assert cell.status_code == 200 and "badge-success" in cell.content.decode()
    with tenant.scope():
        assert Task.objects.get(pk=tasks["late"].pk).status == "done"


def test_task_bulk_actions_and_permissions(tenant, tasks):
    ids = [t.pk for key, t in tasks.items() if key != "account"]
    sales, owner = tenant.actors["sales"], tenant.actors["owner"]
    manager_id = tenant.users["manager"].pk
    with tenant.scope():
        completed = lists.run_bulk(sales, "activities.task", "complete", ids=ids)
        assert (completed.done, completed.skipped) == (4, 1)  # "Not mine" is not visible to the rep
        assert Task.objects.get(pk=tasks["theirs"].pk).status == "open"
        moved = lists.run_bulk(sales, "activities.task", "reassign", ids=ids, value=manager_id)
        assert moved.done == 4
        assert set(Task.objects.filter(pk__in=ids[:4]).values_list("assignee_id", flat=True)) == {manager_id}
        from kehu.core.errors import PermissionDenied

        with pytest.raises(PermissionDenied):
            lists.run_bulk(sales, "activities.task", "delete", ids=ids)
        deleted = lists.run_bulk(owner, "activities.task", "delete", params={"filters": spec(), "q": "Late"})
        assert deleted.done == 1 and not Task.objects.filter(pk=tasks["late"].pk).exists()


def test_tasks_export_and_api_filters(tenant, tasks, other_tenant):
    query = {
        "f": encode_spec(spec(cond("status", "ne", "done"))),
        "sort": "due_at",
        "cols": "title,priority,record",
    }
    rows = csv_rows(tenant.web_client("owner").get("/lists/activities.task/export.csv", query))
    assert rows == [
        ["Title", "Priority", "About"],
        ["Late one", "Normal", "杭州青禾"],
        ["Next month", "High", ""],
        ["Someday", "Normal", ""],  # undated last, like the page, then by creation
        ["Not mine", "Normal", ""],
    ]
    api = tenant.api_client("sales")
    overdue = api.get("/api/v1/tasks?filters=" + quote(json.dumps(spec(cond("due_state", "eq", "overdue")))))
    assert [t["title"] for t in overdue.json()["items"]] == ["Late one"]
    bad = api.get("/api/v1/tasks?filters=" + quote(json.dumps(spec(cond("due_state", "in", "x")))))
    assert bad.status_code == 422
    activities = api.get("/api/v1/activities?filters=" + quote(json.dumps(spec(cond("kind", "eq", "call")))))
    assert activities.status_code == 200 and activities.json()["items"] == []
    # Another workspace sees none of them, and its pages list nothing.
    foreign = other_tenant.api_client("owner").get("/api/v1/tasks?filters=" + quote(json.dumps(spec())))
    assert foreign.json()["items"] == []
    assert titles(other_tenant.web_client("owner").get("/tasks/", {"all": "1"})) == []
    skipped = other_tenant.web_client("owner").post(
        "/lists/activities.task/bulk/",
        {"action": "complete", "ids": [tasks["soon"].pk], "back": ""},
        follow=True,
    )
    assert "0 changed, 1 skipped." in skipped.content.decode()


def test_list_pages_query_counts_are_pinned(tenant, timeline, tasks, django_assert_num_queries):
    web = tenant.web_client("owner")
    activity_query = {"cols": "occurred_at,kind,subject,account,owner", "all": "1"}
    task_query = {"cols": "status,title,due_at,assignee,record,owner", "all": "1"}
    web.get("/activities/", activity_query)
    # session, user, membership, custom fields, one page (with linked account names and owners),
    # saved views, members, workspace switcher
    with django_assert_num_queries(8):
        web.get("/activities/", activity_query)
    with django_assert_num_queries(9):  # + the quick tabs' counts
        web.get("/tasks/", task_query)
    sales = tenant.actors["sales"]
    with tenant.scope():
        for i in range(15):
            services.log_activity(
                sales, links=[(ACCOUNT, timeline["account"].pk)], kind="email", subject=f"E{i}"
            )
            services.create_task(sales, title=f"T{i}", record_type=ACCOUNT, record_id=timeline["account"].pk)
    with django_assert_num_queries(8):
        page = web.get("/activities/", activity_query)
    assert len(page.context["rows"]) == 19
    with django_assert_num_queries(9):
        page = web.get("/tasks/", task_query)
    assert len(page.context["rows"]) == 20
