"""REST API: CRUD, filters, permissions and cross-workspace isolation for every endpoint."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from kehu.activities import plans, services
from kehu.activities.models import Notification, Task
from kehu.customers import services as customers

pytestmark = pytest.mark.django_db
ACCOUNT = "customers.account"


@pytest.fixture
def setup(tenant, other_tenant):
    with tenant.scope():
        account = customers.create_account(tenant.actors["sales"], name="API Co")
        hidden = customers.create_account(tenant.actors["owner"], name="Hidden Co")
    with scope(workspace=other_tenant.workspace):
        foreign = customers.create_account(other_tenant.actors["owner"], name="Globex Co")
        foreign_activity = services.log_activity(
            other_tenant.actors["owner"], links=[(ACCOUNT, foreign.pk)], kind="call"
        )
        foreign_task = services.create_task(other_tenant.actors["owner"], title="Globex task")
        foreign_plan = plans.create_plan(other_tenant.actors["owner"], name="G", task_title="t")
    return {
        "account": account,
        "hidden": hidden,
        "foreign": foreign,
        "foreign_activity": foreign_activity,
        "foreign_task": foreign_task,
        "foreign_plan": foreign_plan,
    }


def test_activity_crud_and_filters(tenant, setup):
    api = tenant.api_client("sales")
    account = setup["account"]
    created = api.post(
        "/api/v1/activities",
        {
            "kind": "message",
            "channel": "wechat",
            "direction": "inbound",
            "subject": "微信咨询",
            "duration": 60,
            "links": [{"object_type": ACCOUNT, "object_id": account.pk}],
            "participant_ids": [tenant.users["sales"].pk],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["source"] == "api" and body["links"] == [{"object_type": ACCOUNT, "object_id": account.pk}]
    assert (
        body["participant_ids"] == [tenant.users["sales"].pk] and body["owner_id"] == tenant.users["sales"].pk
    )
    api.post("/api/v1/activities", {"kind": "note", "subject": "loose note"}, content_type="application/json")

    listed = api.get("/api/v1/activities", {"object_type": ACCOUNT, "object_id": account.pk}).json()
    assert [a["subject"] for a in listed["items"]] == ["微信咨询"]
    assert [a["subject"] for a in api.get("/api/v1/activities", {"kind": "note"}).json()["items"]] == [
        "loose note"
    ]

    patched = api.patch(
        f"/api/v1/activities/{body['id']}",
        {"outcome": "Quote sent", "links": []},
        content_type="application/json",
    )
    assert (
        patched.status_code == 200
        and patched.json()["outcome"] == "Quote sent"
        and patched.json()["links"] == []
    )
    assert api.delete(f"/api/v1/activities/{body['id']}").status_code == 403  # sales may not delete
    assert tenant.api_client("owner").delete(f"/api/v1/activities/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/activities/{body['id']}").status_code == 404


def test_activity_errors_permissions_and_isolation(tenant, setup):
    api = tenant.api_client("sales")
    bad = api.post(
        "/api/v1/activities",
        {"kind": "call", "links": [{"object_type": ACCOUNT, "object_id": setup["hidden"].pk}]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "links.0"
    foreign = api.post(
        "/api/v1/activities",
        {"kind": "call", "links": [{"object_type": ACCOUNT, "object_id": setup["foreign"].pk}]},
        content_type="application/json",
    )
    assert foreign.status_code == 422
    assert api.post("/api/v1/activities", {"kind": "fax"}, content_type="application/json").status_code == 422
    readonly = tenant.api_client("readonly")
    assert (
        readonly.post("/api/v1/activities", {"kind": "call"}, content_type="application/json").status_code
        == 403
    )
    fid = setup["foreign_activity"].pk
    owner = tenant.api_client("owner")
    assert owner.get(f"/api/v1/activities/{fid}").status_code == 404
    assert (
        owner.patch(
            f"/api/v1/activities/{fid}", {"subject": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert owner.delete(f"/api/v1/activities/{fid}").status_code == 404
    assert (
        owner.get(
            "/api/v1/activities", {"object_type": ACCOUNT, "object_id": setup["foreign"].pk}
        ).status_code
        == 404
    )
    assert owner.get("/api/v1/activities").json()["items"] == []
    # Another member's activity is invisible to a sales rep ("own" scope).
    with tenant.scope():
        boss = services.log_activity(tenant.actors["owner"], kind="note")
    assert api.get(f"/api/v1/activities/{boss.pk}").status_code == 404


def test_comments_and_notifications(tenant, setup, django_capture_on_commit_callbacks):
    account = setup["account"]
    api = tenant.api_client("sales")
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/comments",
            {"object_type": ACCOUNT, "object_id": account.pk, "body": "@manager please check"},
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["mention_ids"] == [tenant.users["manager"].pk]
    assert created.json()["object_type"] == ACCOUNT
    listed = api.get("/api/v1/comments", {"object_type": ACCOUNT, "object_id": account.pk}).json()["items"]
    assert [c["body"] for c in listed] == ["@manager please check"]

    manager = tenant.api_client("manager")
    inbox = manager.get("/api/v1/notifications").json()["items"]
    assert len(inbox) == 1 and inbox[0]["verb"] == "mention"
    assert manager.post(f"/api/v1/notifications/{inbox[0]['id']}/read").json() == {"marked": 1}
    assert manager.get("/api/v1/notifications").json()["items"] == []
    assert len(manager.get("/api/v1/notifications", {"unread": "false"}).json()["items"]) == 1
    # Someone else's notification is not found; nor is a comment target in another workspace or hidden.
    assert api.post(f"/api/v1/notifications/{inbox[0]['id']}/read").status_code == 404
    assert api.post("/api/v1/notifications/read", {}, content_type="application/json").json() == {"marked": 0}
    for target in (setup["foreign"], setup["hidden"]):
        response = api.post(
            "/api/v1/comments",
            {"object_type": ACCOUNT, "object_id": target.pk, "body": "hi"},
            content_type="application/json",
        )
        assert response.status_code == 422
        assert (
            api.get("/api/v1/comments", {"object_type": ACCOUNT, "object_id": target.pk}).status_code == 404
        )
    assert (
        tenant.api_client("readonly")
        .post(
            "/api/v1/comments",
            {"object_type": ACCOUNT, "object_id": account.pk, "body": "ro"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    comment_id = created.json()["id"]
    # The service role sees the account but is not the author (nor an admin); the manager does not see it.
    assert tenant.api_client("service").delete(f"/api/v1/comments/{comment_id}").status_code == 403
    assert manager.delete(f"/api/v1/comments/{comment_id}").status_code == 404
    assert api.delete(f"/api/v1/comments/{comment_id}").status_code == 204


def test_tasks_api(tenant, setup):
    api = tenant.api_client("sales")
    soon = timezone.now() + timedelta(hours=2)
    created = api.post(
        "/api/v1/tasks",
        {
            "title": "Send quote",
            "due_at": soon.isoformat(),
            "priority": "high",
            "record_type": ACCOUNT,
            "record_id": setup["account"].pk,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["assignee_id"] == tenant.users["sales"].pk and task["status"] == "open"
    api.post(
        "/api/v1/tasks",
        {"title": "Later", "due_at": (soon + timedelta(days=5)).isoformat()},
        content_type="application/json",
    )
    mine = api.get(
        "/api/v1/tasks",
        {"assignee": "me", "status": "open", "due_before": (soon + timedelta(days=1)).isoformat()},
    ).json()["items"]
    assert [t["title"] for t in mine] == ["Send quote"]
    done = api.patch(
        f"/api/v1/tasks/{task['id']}", {"status": "done"}, content_type="application/json"
    ).json()
    assert done["completed_at"] is not None
    bad = api.post(
        "/api/v1/tasks",
        {"title": "x", "assignee_id": tenant.users["sales"].pk + 999},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "assignee_id"
    # A task assigned by the manager to the rep is visible to the rep; the foreign one is not.
    with tenant.scope():
        assigned = services.create_task(
            tenant.actors["owner"],
            title="From boss",
            assignee_id=tenant.users["sales"].pk,
            owner_id=tenant.users["owner"].pk,
        )
    assert api.get(f"/api/v1/tasks/{assigned.pk}").status_code == 200
    fid = setup["foreign_task"].pk
    owner = tenant.api_client("owner")
    for response in (
        owner.get(f"/api/v1/tasks/{fid}"),
        owner.delete(f"/api/v1/tasks/{fid}"),
        owner.patch(f"/api/v1/tasks/{fid}", {"title": "x"}, content_type="application/json"),
    ):
        assert response.status_code == 404
    assert (
        tenant.api_client("sales").delete(f"/api/v1/tasks/{task['id']}").status_code == 403
    )  # sales: no delete
    assert owner.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    with tenant.scope():
        assert not Task.objects.filter(pk=task["id"]).exists()


def test_follow_up_plans_api(tenant, setup):
    manager = tenant.api_client("admin")
    created = manager.post(
        "/api/v1/follow-up-plans",
        {
            "name": "Monthly care",
            "object_type": ACCOUNT,
            "condition": {"kind": "company"},
            "interval": 1,
            "unit": "month",
            "task_title": "Visit {name}",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["object_type"] == ACCOUNT and plan["condition"] == {"kind": "company"}
    assert manager.post(f"/api/v1/follow-up-plans/{plan['id']}/run").json() == {"created": 2}
    assert manager.post(f"/api/v1/follow-up-plans/{plan['id']}/run").json() == {"created": 0}
    patched = manager.patch(
        f"/api/v1/follow-up-plans/{plan['id']}", {"active": False}, content_type="application/json"
    )
    assert patched.json()["active"] is False
    bad = manager.post(
        "/api/v1/follow-up-plans",
        {"name": "x", "task_title": "t", "condition": {"grade": "A"}},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "condition"
    sales = tenant.api_client("sales")
    assert sales.get("/api/v1/follow-up-plans").status_code == 403
    assert sales.get(f"/api/v1/follow-up-plans/{plan['id']}").status_code == 404
    assert (
        sales.post(
            "/api/v1/follow-up-plans", {"name": "x", "task_title": "t"}, content_type="application/json"
        ).status_code
        == 403
    )
    fid = setup["foreign_plan"].pk
    assert manager.get(f"/api/v1/follow-up-plans/{fid}").status_code == 404
    assert manager.post(f"/api/v1/follow-up-plans/{fid}/run").status_code == 404
    assert manager.delete(f"/api/v1/follow-up-plans/{fid}").status_code == 404
    assert [p["name"] for p in manager.get("/api/v1/follow-up-plans").json()["items"]] == ["Monthly care"]
    assert manager.delete(f"/api/v1/follow-up-plans/{plan['id']}").status_code == 204


def test_account_360_includes_timeline_and_tasks(tenant, setup):
    account = setup["account"]
    with tenant.scope():
        sales = tenant.actors["sales"]
        services.log_activity(sales, links=[(ACCOUNT, account.pk)], kind="visit", subject="On site")
        services.log_activity(sales, links=[(ACCOUNT, account.pk)], kind="call", subject="Follow-up")
        services.create_task(sales, title="Quote", record_type=ACCOUNT, record_id=account.pk)
        assert not Notification.objects.exists()
    body = tenant.api_client("sales").get(f"/api/v1/accounts/{account.pk}/360").json()
    timeline = body["panels"]["timeline"]
    assert [e["subject"] for e in timeline["entries"]] == ["Follow-up", "On site"]
    assert timeline["counts"] == {"visit": 1, "call": 1}
    assert [t["title"] for t in body["panels"]["tasks"]["open"]] == ["Quote"]
