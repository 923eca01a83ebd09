"""Background tasks that always run inside their workspace's scope.

``django.tasks`` is the one task interface; the backend (database worker, Celery, immediate) is a
setting. Business code does not use ``@task`` on its own: a task works on one workspace's data,
so it is declared with one of the decorators below and enqueued with plain ids (task arguments
must be JSON)::

    @workspace_task
    def rescore_accounts(workspace, since: str): ...      # rescore_accounts.enqueue(ws.pk, "2026-01-01")

    @actor_task
    def export_contacts(actor, filters: dict): ...        # export_contacts.enqueue(actor.membership.pk, {})

The first runs inside ``scope(workspace=...)``; the second also rebuilds the member's ``Actor``, so
record rules (``visible``/``access_record``) hold in background jobs exactly as in requests, and
a job whose member was deactivated meanwhile does not run.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.tasks import Task, task
from django_scopes import scope, scopes_disabled

from kehu.core.errors import PermissionDenied


def _load_workspace(workspace_id: int):
    from kehu.workspaces.models import Workspace

    return Workspace.objects.get(pk=workspace_id)


def _load_actor(membership_id: int):
    from kehu.workspaces.access import Actor
    from kehu.workspaces.models import Membership

    with scopes_disabled():
        membership = Membership.objects.select_related("workspace", "user", "role").get(pk=membership_id)
    if not (membership.is_active and membership.user.is_active):
        raise PermissionDenied(f"membership {membership_id} is no longer active")
    return Actor(membership)


def _scoped(func: Callable[..., Any], *, takes_context: bool, as_actor: bool) -> Callable[..., Any]:
    """Wrap ``func(workspace_or_actor, ...)`` as ``wrapper([context,] id, ...)`` entering the scope.

    ``functools.wraps`` keeps ``__module__``/``__qualname__``, so the task's module path still names
    the module-level ``Task`` object and workers can import it.
    """

    def run(context, ident, args, kwargs):
        if as_actor:
            actor = _load_actor(ident)
            workspace, first = actor.workspace, actor
        else:
            workspace = first = _load_workspace(ident)
        with scope(workspace=workspace):
            if takes_context:
                return func(context, first, *args, **kwargs)
            return func(first, *args, **kwargs)

    if takes_context:

        @functools.wraps(func)
        def wrapper_with_context(context, ident, /, *args, **kwargs):
            return run(context, ident, args, kwargs)

        return wrapper_with_context

    @functools.wraps(func)
    def wrapper(ident, /, *args, **kwargs):
        return run(None, ident, args, kwargs)

    return wrapper


def _decorator(function, as_actor: bool, options: dict[str, Any]):
    def wrap(f: Callable[..., Any]) -> Task:
        takes_context = options.get("takes_context", False)
        return task(_scoped(f, takes_context=takes_context, as_actor=as_actor), **options)

    return wrap(function) if function is not None else wrap


def workspace_task(function: Callable[..., Any] | None = None, **options: Any):
    """``@task`` for ``f(workspace, *args)``: enqueue with the workspace id, runs in its scope.

    Accepts the options of ``django.tasks.task`` (``priority``, ``queue_name``, ``backend``,
    ``takes_context`` — then the signature is ``f(context, workspace, *args)``).
    """
    return _decorator(function, False, options)


def actor_task(function: Callable[..., Any] | None = None, **options: Any):
    """``@task`` for ``f(actor, *args)``: enqueue with the membership id; runs as that member.

    Raises ``PermissionDenied`` (the task fails) when the membership or user was deactivated.
    """
    return _decorator(function, True, options)
