"""``kehu worker``: run the background task worker of the configured task backend."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Run the background task worker (the database worker, or explain how to start Celery)."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="*", help="Queues to process, comma separated; * = all.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after this many tasks.")

    def handle(self, *args, **options):
        backend = settings.TASK_BACKEND
        if backend == "celery":
            self.stdout.write(_(
                "KEHU_TASK_BACKEND=celery: tasks run on Celery workers. Start one or more with:\n"
                "    celery -A kehu.celery worker --loglevel INFO\n"
                "(broker: %(broker)s)"
            ) % {"broker": _redacted(settings.CELERY_BROKER_URL)})
            return
        if backend == "immediate":
            self.stdout.write(
                _("KEHU_TASK_BACKEND=immediate: tasks run inside the web process; no worker needed.")
            )
            return
        worker_args = ["--queue-name", options["queue_name"], "--interval", str(options["interval"])]
        worker_args.append("--no-reload")
        if options["batch"]:
            worker_args += ["--batch", "--no-startup-delay"]
        if options["max_tasks"]:
            worker_args += ["--max-tasks", str(options["max_tasks"])]
        call_command("db_worker", *worker_args, verbosity=options["verbosity"])


def _redacted(url: str) -> str:
    """A broker URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":•••@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
