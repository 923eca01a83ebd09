"""The Celery app for deployments that run background tasks on Celery + Redis.

Start a worker with ``celery -A kehu.celery worker`` (with ``KEHU_TASK_BACKEND=celery`` and
``KEHU_CELERY_BROKER_URL`` set). Application code never calls Celery directly: it enqueues
``django.tasks`` tasks and ``kehu.core.celery_backend.CeleryBackend`` hands them to this app.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

app = Celery("kehu", include=["kehu.core.celery_backend"])
# Reads CELERY_* settings (CELERY_BROKER_URL, optional CELERY_RESULT_BACKEND, …) lazily.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # Tasks go to the queue named like the django.tasks queue ("default" unless a task says otherwise).
    task_default_queue="default",
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A task is acknowledged after it ran, so a worker that dies mid-task leaves it for another one.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


@app.on_after_configure.connect
def _result_backend_default(sender: Celery, **kwargs) -> None:
    # Results go to the broker's Redis unless CELERY_RESULT_BACKEND says otherwise.
    if not sender.conf.result_backend:
        sender.conf.result_backend = sender.conf.broker_url
