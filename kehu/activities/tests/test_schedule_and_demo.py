"""The `kehu scheduler` command enqueues the jobs; the demo seed fills timelines, tasks and a plan."""

import pytest
from asgiref.local import Local
from django.core.management import call_command
from django.tasks import task_backends
from django_scopes import scope

pytestmark = pytest.mark.django_db


def _reset_task_backends() -> None:
    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    task_backends._connections = Local(task_backends.thread_critical)


@pytest.fixture
def dummy_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    _reset_task_backends()
    yield task_backends["default"]
    _reset_task_backends()


def test_scheduler_once_enqueues_both_jobs_per_workspace(tenant, other_tenant, dummy_tasks, capsys):
    call_command("scheduler", "--once")
    # Other apps (lead scoring …) enqueue their periodic jobs in the same tick.
    assert f"Enqueued {len(dummy_tasks.results)} jobs." in capsys.readouterr().out
    activities_jobs = {"run_follow_up_plans", "send_due_reminders"}
    enqueued = sorted((r.task.name, r.args[0]) for r in dummy_tasks.results if r.task.name in activities_jobs)
    ids = sorted([tenant.workspace.pk, other_tenant.workspace.pk])
    assert enqueued == sorted(
        [("run_follow_up_plans", i) for i in ids] + [("send_due_reminders", i) for i in ids]
    )


def test_demo_seed_has_timelines_tasks_and_a_plan():
    from kehu.activities.models import Activity, Comment, FollowUpPlan, Task
    from kehu.activities.plans import run_follow_up_plans
    from kehu.customers.models import Account
    from kehu.operations import demo
    from kehu.workspaces.models import Workspace

    assert demo.seed() is True
    workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    with scope(workspace=workspace):
        companies = Account.objects.filter(kind="company").count()
        # The interactions seed_activities logs (the service demos add timeline entries of their own).
        subjects = {entry[2] for entry in demo.DEMO_ACTIVITIES}
        assert Activity.objects.filter(subject__in=subjects).count() == 5 * companies
        assert Task.objects.filter(assignee__email="sales@demo.kehu").count() == 4
        assert Comment.objects.get().mentions.get().email == "manager@demo.kehu"
        plan = FollowUpPlan.objects.get()
        shanghai = Account.objects.filter(kind="company", city="上海").count()
        assert shanghai and run_follow_up_plans(workspace) == shanghai
        assert Task.objects.filter(created_by_plan=plan).count() == shanghai
