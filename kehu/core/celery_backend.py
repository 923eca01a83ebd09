"""A ``django.tasks`` backend that runs tasks on Celery workers (``KEHU_TASK_BACKEND=celery``).

One generic Celery task, ``kehu.run_django_task``, imports the ``django.tasks`` task by its module
path and calls it. The task's state lives in Celery's result backend as one JSON envelope (the
fields of ``TaskResult``): written as READY when enqueued, RUNNING when a worker picks it up, and
SUCCESSFUL/FAILED with the return value or the error at the end, so ``get_result()`` can answer at
every stage. A failing task is reported as FAILED in the envelope (Celery itself sees success).
"""

import uuid
from datetime import datetime
from traceback import format_exception
from typing import Any

from celery import states
from django.db import transaction
from django.tasks import TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskContext, TaskError
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from kehu.celery import app as celery_app

ENVELOPE_MARK = "kehu_task"
RUN_TASK_NAME = "kehu.run_django_task"


class CeleryBackend(BaseTaskBackend):
    """Enqueue to Celery; read results from Celery's result backend.

    ``OPTIONS``: ``enqueue_on_commit`` (default True) publishes the message only when the current
    database transaction commits, so a worker never runs before the rows it needs exist.
    """

    supports_defer = True
    supports_get_result = True

    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.enqueue_on_commit = self.options.get("enqueue_on_commit", True)

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result_id = str(uuid.uuid4())
        envelope = {
            ENVELOPE_MARK: 1,
            "task_path": task.module_path,
            "queue_name": task.queue_name,
            "priority": task.priority,
            "run_after": task.run_after.isoformat() if task.run_after else None,
            "args": normalize_json(list(args)),
            "kwargs": normalize_json(dict(kwargs)),
            "backend": self.alias,
            "status": TaskResultStatus.READY.value,
            "enqueued_at": timezone.now().isoformat(),
            "started_at": None,
            "finished_at": None,
            "last_attempted_at": None,
            "return_value": None,
            "errors": [],
            "worker_ids": [],
        }
        # Stored before publishing, so a fast worker's RUNNING state is never overwritten by READY.
        celery_app.backend.store_result(result_id, envelope, states.PENDING)

        def publish() -> None:
            celery_app.send_task(
                RUN_TASK_NAME,
                args=(envelope["task_path"], envelope["args"], envelope["kwargs"], self.alias),
                task_id=result_id,
                queue=task.queue_name,
                eta=task.run_after,
            )

        if self.enqueue_on_commit:
            transaction.on_commit(publish)
        else:
            publish()
        result = _to_result(result_id, envelope)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        meta = celery_app.backend.get_task_meta(str(result_id))
        envelope = meta.get("result")
        if not isinstance(envelope, dict) or ENVELOPE_MARK not in envelope:
            raise TaskResultDoesNotExist(result_id)
        return _to_result(str(result_id), envelope)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _to_result(result_id: str, envelope: dict[str, Any]) -> TaskResult:
    task = import_string(envelope["task_path"])
    if envelope.get("backend") and envelope["backend"] != task.backend:
        task = task.using(backend=envelope["backend"])
    result = TaskResult(
        task=task,
        id=result_id,
        status=TaskResultStatus(envelope["status"]),
        enqueued_at=_when(envelope["enqueued_at"]),
        started_at=_when(envelope["started_at"]),
        finished_at=_when(envelope["finished_at"]),
        last_attempted_at=_when(envelope["last_attempted_at"]),
        args=envelope["args"],
        kwargs=envelope["kwargs"],
        backend=envelope["backend"],
        errors=[TaskError(**error) for error in envelope["errors"]],
        worker_ids=list(envelope["worker_ids"]),
    )
    object.__setattr__(result, "_return_value", envelope.get("return_value"))
    return result


@celery_app.task(bind=True, name=RUN_TASK_NAME)
def run_django_task(self, task_path: str, args: list, kwargs: dict, backend_alias: str) -> dict[str, Any]:
    """Run one ``django.tasks`` task on a Celery worker and return its result envelope."""
    meta = self.backend.get_task_meta(self.request.id).get("result")
    envelope = dict(meta) if isinstance(meta, dict) and ENVELOPE_MARK in meta else {
        ENVELOPE_MARK: 1, "task_path": task_path, "args": args, "kwargs": kwargs, "backend": backend_alias,
        "enqueued_at": None, "errors": [], "worker_ids": [],
    }
    now = timezone.now().isoformat()
    envelope.update(status=TaskResultStatus.RUNNING.value, started_at=now, last_attempted_at=now,
                    finished_at=None, return_value=None)
    envelope["worker_ids"] = [*envelope.get("worker_ids", []), self.request.hostname or "celery"]
    self.update_state(state=states.STARTED, meta=envelope)
    result = None
    try:
        task = import_string(task_path)
        if backend_alias and task.backend != backend_alias:
            task = task.using(backend=backend_alias)
        result = _to_result(self.request.id, envelope)
        backend_type = type(task.get_backend())
        task_started.send(sender=backend_type, task_result=result)
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        envelope["return_value"] = normalize_json(value)
        envelope["status"] = TaskResultStatus.SUCCESSFUL.value
    except Exception as exc:
        envelope["errors"] = [*envelope.get("errors", []), {
            "exception_class_path": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "traceback": "".join(format_exception(exc)),
        }]
        envelope["status"] = TaskResultStatus.FAILED.value
        envelope["return_value"] = None
    envelope["finished_at"] = timezone.now().isoformat()
    if result is not None:
        task_finished.send(sender=CeleryBackend, task_result=_to_result(self.request.id, envelope))
    return envelope
