"""Services: logging activities, the timeline, mentions, tasks, reminders and follow-up plans."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from kehu.activities import plans, queries, services
from kehu.activities.models import Activity, ActivityLink, FollowUpRun, Notification, Task
from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.customers import services as customers

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = "customers.account", "customers.contact"


@pytest.fixture
def account(tenant):
    with tenant.scope():
        return customers.create_account(tenant.actors["sales"], name="上海明远贸易", city="上海")


def test_log_activity_links_records_and_checks_visibility(tenant, account):
    sales, other = tenant.actors["sales"], tenant.actors["manager"]
    with tenant.scope():
        contact = customers.create_contact(sales, name="王芳", account_id=account.pk)
        hidden = customers.create_account(tenant.actors["owner"], name="Owner only")
        call = services.log_activity(
            sales,
            links=[(ACCOUNT, account.pk), (CONTACT, contact.pk), (ACCOUNT, account.pk)],
            kind="call",
            direction="outbound",
            duration=300,
            subject="Intro call",
            participant_ids=[other.user.pk],
        )
        assert call.owner == sales.user and call.source == "manual"
        assert set(ActivityLink.objects.filter(activity=call).values_list("object_type", "object_id")) == {
            (ACCOUNT, account.pk),
            (CONTACT, contact.pk),
        }
        assert list(call.participants.all()) == [other.user]
        with pytest.raises(ValidationFailed) as err:
            services.log_activity(sales, links=[(ACCOUNT, hidden.pk)], kind="note")
        assert err.value.details[0].field == "links.0"
        with pytest.raises(ValidationFailed) as err:
            services.log_activity(sales, links=[("users.user", 1)], kind="bogus", channel="wechat")
        assert {d.field for d in err.value.details} == {"kind", "channel"}
        with pytest.raises(ValidationFailed) as err:
            services.log_activity(sales, kind="call", channel="wechat")
        assert err.value.details[0].field == "channel"
        with pytest.raises(PermissionDenied):
            services.log_activity(tenant.actors["readonly"], kind="note")


def test_account_timeline_merges_contacts_comments_and_pages_without_duplicates(tenant, account):
    sales = tenant.actors["sales"]
    now = timezone.now()
    with tenant.scope():
        contact = customers.create_contact(sales, name="李娜", account_id=account.pk)
        for i in range(25):
            links = [(ACCOUNT, account.pk)] + ([(CONTACT, contact.pk)] if i % 2 else [])
            services.log_activity(
                sales,
                links=links,
                kind="call" if i % 3 else "visit",
                occurred_at=now - timedelta(hours=i),
                subject=f"A{i}",
            )
        services.log_activity(
            sales,
            links=[(CONTACT, contact.pk)],
            kind="email",
            subject="contact only",
            occurred_at=now - timedelta(minutes=30),
        )
        services.add_comment(sales, record_type=ACCOUNT, record_id=account.pk, body="Looks promising")
        first, cursor = queries.timeline(sales, account)
        assert len(first) == 20 and cursor
        rest, end = queries.timeline(sales, account, cursor=cursor)
        assert end is None
        entries = first + rest
        subjects = [e.activity.subject for e in entries if e.activity]
        assert len(subjects) == 26 and len(set(subjects)) == 26  # linked twice, shown once
        assert entries[0].comment is not None  # newest first: the comment was written just now
        assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
        visits, _ = queries.timeline(sales, account, kind="visit")
        assert {e.kind for e in visits} == {"visit"} and len(visits) == 9
        assert queries.kind_counts(sales, account) == {"call": 16, "visit": 9, "email": 1}
        contact_view, _ = queries.timeline(sales, contact)
        assert len(contact_view) == 13  # 12 shared + its own email, no account-only entries


def test_timeline_shows_only_activities_the_actor_may_see(tenant):
    owner, sales = tenant.actors["owner"], tenant.actors["sales"]
    with tenant.scope():
        shared = customers.create_account(sales, name="Shared")
        services.log_activity(owner, links=[(ACCOUNT, shared.pk)], kind="note", subject="boss note")
        services.log_activity(sales, links=[(ACCOUNT, shared.pk)], kind="call", subject="my call")
        assert [e.activity.subject for e in queries.timeline(sales, shared)[0]] == ["my call"]
        assert len(queries.timeline(tenant.actors["readonly"], shared)[0]) == 2


def test_record_system_activity_is_idempotent(tenant, account):
    with tenant.scope():
        first = services.record_system_activity(
            tenant.workspace,
            links=[(ACCOUNT, account.pk), ("nothing.here", 1)],
            kind="email",
            subject="Ticket #7 answered",
            source_ref="service.ticketreply:7",
        )
        again = services.record_system_activity(
            tenant.workspace,
            links=[(ACCOUNT, account.pk)],
            kind="email",
            subject="x",
            source_ref="service.ticketreply:7",
        )
        assert first.pk == again.pk and first.source == "system"
        assert ActivityLink.objects.filter(activity=first).count() == 1
        assert [e.activity.pk for e in queries.timeline(tenant.actors["owner"], account)[0]] == [first.pk]


def test_mentions_notify_members_only_on_commit(
    tenant, other_tenant, account, make_user, django_capture_on_commit_callbacks
):
    sales = tenant.actors["sales"]
    manager = tenant.users["manager"]
    manager.name = "陈晓明"
    manager.save()
    outsider = other_tenant.users["sales"]  # sales@globex.test: a member elsewhere only
    make_user("loner@nowhere.test", name="Loner")
    with tenant.scope():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            comment = services.add_comment(
                sales,
                record_type=ACCOUNT,
                record_id=account.pk,
                body="@陈晓明 请跟进, cc @admin and @Loner and @sales@globex.test and @owner",
            )
            assert not Notification.objects.exists()  # nothing before the commit
        for callback in callbacks:
            callback()
        expected = {manager.pk, tenant.users["admin"].pk, tenant.users["owner"].pk}
        assert set(comment.mentions.values_list("pk", flat=True)) == expected
        assert set(Notification.objects.values_list("user_id", flat=True)) == expected
        assert outsider.pk not in expected
        note = Notification.objects.get(user=manager)
        assert note.verb == "mention" and note.object_type == ACCOUNT and note.object_id == account.pk
    assert services.resolve_mentions.__doc__


def test_resolve_mentions_rules(tenant):
    tenant.users["sales"].name = "James Miller"
    tenant.users["sales"].save()
    with tenant.scope():
        assert services.resolve_mentions("hi @James Miller!") == [tenant.users["sales"].pk]
        assert services.resolve_mentions("hi @James Millerson") == []  # no partial name
        assert services.resolve_mentions("mail me at x@y.z") == []
        assert services.resolve_mentions("@manager") == [tenant.users["manager"].pk]


def test_tasks_assignee_sees_and_completes_own_task(tenant, account, django_capture_on_commit_callbacks):
    manager, sales = tenant.actors["admin"], tenant.actors["sales"]
    with tenant.scope():
        with django_capture_on_commit_callbacks(execute=True):
            task = services.create_task(
                manager,
                title="Call back",
                assignee_id=sales.user.pk,
                record_type=ACCOUNT,
                record_id=account.pk,
                due_at=timezone.now(),
            )
        assert task.owner_id == sales.user.pk
        assert Notification.objects.get(user=sales.user).verb == "assigned"
        assert queries.tasks_for(sales).filter(pk=task.pk).exists()
        services.complete_task(sales, task)
        task.refresh_from_db()
        assert task.status == "done" and task.completed_at is not None
        services.update_task(sales, task, status="open")
        task.refresh_from_db()
        assert task.completed_at is None
        with pytest.raises(ValidationFailed) as err:
            services.create_task(sales, title=" ", priority="sky-high", record_type=ACCOUNT, record_id=999999)
        assert {d.field for d in err.value.details} == {"title", "priority", "record_id"}


def test_reminders_are_sent_once(tenant, django_capture_on_commit_callbacks):
    sales = tenant.actors["sales"]
    past = timezone.now() - timedelta(minutes=1)
    with tenant.scope():
        due = services.create_task(sales, title="Send quote", reminder_at=past)
        services.create_task(sales, title="Later", reminder_at=timezone.now() + timedelta(days=1))
        services.create_task(sales, title="Done already", reminder_at=past, status="done")
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_due_reminders(tenant.workspace) == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_due_reminders(tenant.workspace) == 0
        assert Notification.objects.filter(verb="reminder").count() == 1
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [sales.user.email]
        assert "Send quote" in mail.outbox[0].subject
        due.refresh_from_db()
        assert due.reminded_at is not None
        services.update_task(sales, due, reminder_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_due_reminders(tenant.workspace) == 1  # a new reminder time reminds again


def test_plan_run_twice_creates_tasks_once(tenant, django_capture_on_commit_callbacks):
    admin, sales = tenant.actors["admin"], tenant.actors["sales"]
    with tenant.scope():
        for i in range(3):
            customers.create_account(sales, name=f"Key {i}", kind="company", city="上海")
        customers.create_account(sales, name="Elsewhere", city="北京")
        customers.create_account(sales, name="Person", kind="individual", city="上海")
        plan = plans.create_plan(
            admin,
            name="Monthly visit",
            condition={"kind": "company", "city": ["上海"]},
            interval=1,
            unit="month",
            task_title="Visit {name}",
            due_in_days=5,
            priority="high",
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert plans.run_follow_up_plans(tenant.workspace) == 3
            assert plans.run_follow_up_plans(tenant.workspace) == 0
        tasks = Task.objects.filter(created_by_plan=plan).order_by("title")
        assert [t.title for t in tasks] == ["Visit Key 0", "Visit Key 1", "Visit Key 2"]
        assert {t.assignee_id for t in tasks} == {sales.user.pk} and {t.priority for t in tasks} == {"high"}
        assert FollowUpRun.objects.filter(plan=plan).count() == 3
        assert Notification.objects.filter(user=sales.user, verb="assigned").count() == 1
        # The next period makes new ones.
        later = timezone.now() + timedelta(days=32)
        assert plans.run_plan(plan, now=later) == 3
        assert plans.run_plan(plan, now=later) == 0


def test_plan_validation_and_permissions(tenant):
    with tenant.scope():
        with pytest.raises(PermissionDenied):
            plans.create_plan(tenant.actors["sales"], name="x", task_title="y")
        with pytest.raises(ValidationFailed) as err:
            plans.create_plan(
                tenant.actors["manager"],
                name="",
                task_title="t",
                condition={"tag": "vip"},
                assignee_mode="user",
                unit="year",
            )
        assert {d.field for d in err.value.details} == {"name", "condition", "assignee_id", "unit"}


def test_after_first_order_uses_registered_source(tenant):
    admin = tenant.actors["admin"]
    today = timezone.localdate()
    with tenant.scope():
        account = customers.create_account(tenant.actors["sales"], name="New buyer")
        plan = plans.create_plan(
            admin, name="Thank you call", trigger="after_first_order", interval=7, task_title="Call {name}"
        )
        assert plans.run_plan(plan) == 0  # no order source registered: nothing to do

        def source(workspace, record_type, since, until):
            assert since <= today - timedelta(days=7) <= until
            return [(account.pk, today - timedelta(days=7))] if record_type == ACCOUNT else []

        plans.register_first_order_source(source)
        try:
            assert plans.run_plan(plan) == 1
            assert plans.run_plan(plan) == 0
        finally:
            plans.FIRST_ORDER_SOURCES.remove(source)
        assert Task.objects.get(created_by_plan=plan).title == "Call New buyer"


def test_schedule_tick_enqueues_jobs_for_every_workspace(tenant, other_tenant, settings):
    from kehu.activities import schedule

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    from django.tasks import task_backends

    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    from asgiref.local import Local

    task_backends._connections = Local(task_backends.thread_critical)
    try:
        assert schedule.tick() == 4
        backend = task_backends["default"]
        names = sorted(r.task.name for r in backend.results)
        assert names == ["run_follow_up_plans"] * 2 + ["send_due_reminders"] * 2
    finally:
        task_backends.__dict__.pop("settings", None)
        task_backends._settings = None
        task_backends._connections = Local(task_backends.thread_critical)


def test_jobs_run_in_their_workspace(tenant, other_tenant):
    from kehu.activities.tasks import run_follow_up_plans, send_due_reminders

    with scope(workspace=other_tenant.workspace):
        customers.create_account(other_tenant.actors["owner"], name="Globex client")
        plans.create_plan(other_tenant.actors["owner"], name="Weekly", unit="week", task_title="{name}")
    assert run_follow_up_plans.call(tenant.workspace.pk) == 0
    assert run_follow_up_plans.call(other_tenant.workspace.pk) == 1
    assert send_due_reminders.call(tenant.workspace.pk) == 0
    with scope(workspace=tenant.workspace):
        assert not Activity.objects.exists() and not Task.objects.exists()
