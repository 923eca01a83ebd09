"""Background tasks run inside their workspace's scope, on every backend.

The tasks below live at module level so workers (the database worker, a Celery worker) can import
them by path. Each backend gets the same checks: the task sees its own workspace's rows, cannot
read another workspace's rows even when it asks for them by id, and an actor-bound task applies
the member's record rules.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
from asgiref.local import Local
from django.core.management import call_command
from django.tasks import TaskResultStatus, task, task_backends
from django.test import override_settings
from django_scopes import ScopeError, scope, scopes_disabled

from kehu.customers.models import Account
from kehu.workspaces.access import visible
from kehu.workspaces.tasks import actor_task, workspace_task

# --- tasks used by the tests ------------------------------------------------------------------------


@workspace_task
def account_names(workspace) -> dict:
    """What a scoped task sees with a plain query: only its own workspace's rows."""
    return {"workspace": workspace.slug, "names": sorted(Account.objects.values_list("name", flat=True))}


@workspace_task
def names_in_workspace(workspace, other_workspace_id: int) -> list[str]:
    """A task trying to read another workspace's rows by asking for them explicitly."""
    return sorted(Account.objects.filter(workspace_id=other_workspace_id).values_list("name", flat=True))


@workspace_task
def fetch_by_pk(workspace, pk: int) -> str:
    return Account.objects.get(pk=pk).name


@actor_task
def visible_account_names(actor) -> list[str]:
    return sorted(visible(actor, Account.objects.all()).values_list("name", flat=True))


@workspace_task(takes_context=True)
def attempt_and_slug(context, workspace) -> list:
    return [context.attempt, workspace.slug]


@task
def unscoped_count() -> int:
    """A plain task that forgets the workspace: the ORM must refuse."""
    return Account.objects.count()


# --- fixtures ---------------------------------------------------------------------------------------

ALIASES = {
    "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "celery": {"BACKEND": "kehu.core.celery_backend.CeleryBackend", "OPTIONS": {"enqueue_on_commit": False}},
}


def _reset_task_backends() -> None:
    # django.tasks caches its backends like database connections; the TASKS override needs a reset.
    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    task_backends._connections = Local(task_backends.thread_critical)


@pytest.fixture
def task_aliases():
    with override_settings(TASKS=ALIASES):
        _reset_task_backends()
        yield
    _reset_task_backends()


@pytest.fixture
def two_workspaces(tenant, other_tenant):
    """Workspace A (acme) with an account per owner role; workspace B (globex) with its own."""
    with scopes_disabled():
        a = tenant.workspace
        Account.objects.create(workspace=a, name="A sales account", owner=tenant.users["sales"])
        Account.objects.create(workspace=a, name="A manager account", owner=tenant.users["manager"])
        Account.objects.create(workspace=a, name="A owner account", owner=tenant.users["owner"])
        b_account = Account.objects.create(
            workspace=other_tenant.workspace, name="B secret account", owner=other_tenant.users["sales"]
        )
    return tenant, other_tenant, b_account


A_NAMES = ["A manager account", "A owner account", "A sales account"]


def _run(backend: str, t, *args):
    return t.using(backend=backend).enqueue(*args)


# --- immediate backend ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_immediate_task_runs_in_its_workspace_scope(task_aliases, two_workspaces):
    tenant, other, b_account = two_workspaces
    result = _run("immediate", account_names, tenant.workspace.pk)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"workspace": "acme", "names": A_NAMES}

    # Asking for B's rows from A's scope finds nothing, and a lookup by B's primary key fails.
    assert _run("immediate", names_in_workspace, tenant.workspace.pk, other.workspace.pk).return_value == []
    leaked = _run("immediate", fetch_by_pk, tenant.workspace.pk, b_account.pk)
    assert leaked.status == TaskResultStatus.FAILED
    assert leaked.errors[0].exception_class_path.endswith("Account.DoesNotExist")
    # The same lookup in B's own scope works (the row exists; only the scope hid it).
    assert _run("immediate", fetch_by_pk, other.workspace.pk, b_account.pk).return_value == "B secret account"


@pytest.mark.django_db
def test_actor_task_applies_record_rules(task_aliases, two_workspaces):
    tenant, _, _ = two_workspaces
    with tenant.scope():
        sales, owner = tenant.actors["sales"].membership, tenant.actors["owner"].membership
    assert _run("immediate", visible_account_names, sales.pk).return_value == ["A sales account"]
    assert _run("immediate", visible_account_names, owner.pk).return_value == A_NAMES


@pytest.mark.django_db
def test_actor_task_of_deactivated_member_does_not_run(task_aliases, two_workspaces):
    tenant, _, _ = two_workspaces
    with tenant.scope():
        membership = tenant.actors["sales"].membership
        membership.is_active = False
        membership.save()
    result = _run("immediate", visible_account_names, membership.pk)
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "kehu.core.errors.PermissionDenied"


@pytest.mark.django_db
def test_task_without_workspace_scope_is_refused(task_aliases, two_workspaces):
    result = _run("immediate", unscoped_count)
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is ScopeError


@pytest.mark.django_db
def test_context_task_gets_context_then_workspace(task_aliases, tenant):
    assert _run("immediate", attempt_and_slug, tenant.workspace.pk).return_value == [1, "acme"]


def test_scoped_task_keeps_an_importable_module_path():
    # Workers import tasks by this path; it must name the module-level Task, not the wrapper.
    assert account_names.module_path == f"{__name__}.account_names"
    assert visible_account_names.name == "visible_account_names"


# --- database backend (django-tasks-db) with its worker run in-process -----------------------------


def _db_worker_batch() -> str:
    """Run ``db_worker --batch`` here; it installs signal handlers, which we put back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker", "--batch", "--backend", "database", "--queue-name", "*", "--no-reload",
            "--no-startup-delay", "--interval", "0", verbosity=0,
        )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return "done"


# The worker closes "old" connections between tasks, which ends a test's wrapping transaction on
# PostgreSQL: these tests commit for real (transaction=True), as a worker process would see.
@pytest.mark.django_db(transaction=True)
def test_database_backend_runs_tasks_in_scope(task_aliases, two_workspaces):
    tenant, other, b_account = two_workspaces
    with tenant.scope():
        sales = tenant.actors["sales"].membership
    own = _run("database", account_names, tenant.workspace.pk)
    theirs = _run("database", account_names, other.workspace.pk)
    sneaky = _run("database", fetch_by_pk, tenant.workspace.pk, b_account.pk)
    ruled = _run("database", visible_account_names, sales.pk)
    assert own.status == TaskResultStatus.READY  # queued, not run: the worker runs it

    _db_worker_batch()

    for result in (own, theirs, sneaky, ruled):
        result.refresh()
    assert own.return_value == {"workspace": "acme", "names": A_NAMES}
    assert theirs.return_value == {"workspace": "globex", "names": ["B secret account"]}
    assert sneaky.status == TaskResultStatus.FAILED
    assert sneaky.errors[0].exception_class_path.endswith("Account.DoesNotExist")
    assert ruled.return_value == ["A sales account"]


@pytest.mark.django_db(transaction=True)
def test_kehu_worker_command_processes_the_queue(task_aliases, two_workspaces, settings):
    tenant, _, _ = two_workspaces
    with override_settings(TASKS={**ALIASES, "default": ALIASES["database"]}):
        _reset_task_backends()
        result = account_names.enqueue(tenant.workspace.pk)
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
        try:
            call_command("worker", "--batch", verbosity=0)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value["names"] == A_NAMES


# --- Celery backend against a real redis-server and a real Celery worker ---------------------------

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed (apt-get install redis-server); Celery backend untested")
    import redis

    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    subprocess.run(
        [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--daemonize", "yes", "--dir", str(folder), "--pidfile", str(folder / "redis.pid")],
        check=True, capture_output=True,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    with contextlib.suppress(redis.ConnectionError):  # the server drops the connection as it exits
        client.shutdown(nosave=True)


@pytest.fixture
def celery_worker(redis_url):
    """A real Celery worker (solo pool) in a thread, talking to the real Redis."""
    from celery.contrib.testing.worker import start_worker

    from kehu.celery import app

    app.conf.update(broker_url=redis_url, result_backend=redis_url)
    # Drop connections/backends made from the previous configuration, if any.
    app._pool = None
    app._backend_cache = None
    app._local = threading.local()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
        yield app


def _wait(result, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result.refresh()
        if result.is_finished:
            return result
        time.sleep(0.05)
    raise AssertionError(f"task {result.id} still {result.status} after {timeout}s")


@pytest.mark.django_db(transaction=True)
def test_celery_backend_runs_tasks_in_scope(task_aliases, two_workspaces, celery_worker):
    tenant, other, b_account = two_workspaces
    with scope(workspace=tenant.workspace):
        sales = tenant.actors["sales"].membership

    own = _run("celery", account_names, tenant.workspace.pk)
    assert own.status == TaskResultStatus.READY
    assert own.task.get_backend().get_result(own.id).status in {
        TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.SUCCESSFUL
    }
    theirs = _run("celery", account_names, other.workspace.pk)
    cross = _run("celery", names_in_workspace, tenant.workspace.pk, other.workspace.pk)
    sneaky = _run("celery", fetch_by_pk, tenant.workspace.pk, b_account.pk)
    ruled = _run("celery", visible_account_names, sales.pk)
    forgetful = _run("celery", unscoped_count)

    assert _wait(own).return_value == {"workspace": "acme", "names": A_NAMES}
    assert own.worker_ids and own.started_at and own.finished_at >= own.started_at
    assert _wait(theirs).return_value == {"workspace": "globex", "names": ["B secret account"]}
    assert _wait(cross).return_value == []
    assert _wait(sneaky).status == TaskResultStatus.FAILED
    assert sneaky.errors[0].exception_class_path.endswith("Account.DoesNotExist")
    assert "DoesNotExist" in sneaky.errors[0].traceback
    assert _wait(ruled).return_value == ["A sales account"]
    assert _wait(forgetful).errors[0].exception_class is ScopeError
    with pytest.raises(ValueError, match="failed"):
        _ = forgetful.return_value


@pytest.mark.django_db(transaction=True)
def test_celery_backend_unknown_result(task_aliases, celery_worker):
    from django.tasks.exceptions import TaskResultDoesNotExist

    with pytest.raises(TaskResultDoesNotExist):
        task_backends["celery"].get_result("00000000-0000-0000-0000-000000000000")
