"""``kehu demo``: try Kehu on this machine with no configuration.

Uses the data directory (``KEHU_DATA_DIR``, default ~/.local/share/kehu) and its SQLite database,
migrates, seeds the demo workspaces once (``--reset`` starts over), starts the database task
worker and granian (the web UI and API) as child processes. Ctrl-C stops both.
``kehu`` turns DEBUG on for this command (static files come straight from the apps).
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from kehu.operations import demo

from ._common import table
from ._server import ensure_port_free, granian_command, scheduler_command, supervise, worker_command


class Command(BaseCommand):
    help = "Seed a demo workspace and serve Kehu on http://127.0.0.1:8000 (no configuration needed)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo database and start over.")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_false", dest="worker",
                            help="Do not start the background task worker.")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        ensure_port_free(host, port)
        if options["reset"]:
            self.reset()
        self.stdout.write(_("Data directory: %(path)s") % {"path": settings.DATA_DIR})
        call_command("migrate", interactive=False, verbosity=0)
        if demo.is_seeded():
            self.stdout.write(_("Using the existing demo data (--reset starts over)."))
        else:
            self.stdout.write(_("Seeding the demo workspaces…"))
            demo.seed()
        if not settings.DEBUG:
            # Run without the kehu command (DEBUG off): whitenoise serves collected files only.
            call_command("collectstatic", interactive=False, verbosity=0)
        self.print_welcome(host, port)
        commands = [granian_command(host, port, workers=1, threads=4)]
        if options["worker"]:
            if settings.TASK_BACKEND == "database":
                commands.append(worker_command())
                commands.append(scheduler_command())  # follow-up plans and task reminders
            else:
                self.stdout.write(
                    _("Task backend %(backend)s: no database worker started (see “kehu worker”).")
                    % {"backend": settings.TASK_BACKEND}
                )
        code = supervise(commands)
        if code:
            raise CommandError(
                _("The demo server stopped unexpectedly (exit code %(code)s).") % {"code": code}
            )
        self.stdout.write(_("Kehu demo stopped."))

    def reset(self) -> None:
        database = settings.DATABASES["default"]
        name = Path(str(database["NAME"]))
        data_dir = Path(settings.DATA_DIR).resolve()
        if database["ENGINE"] != "django.db.backends.sqlite3" or not name.resolve().is_relative_to(data_dir):
            raise CommandError(_(
                "--reset only deletes the SQLite database inside the data directory (%(path)s); "
                "this database is configured elsewhere (KEHU_DATABASE_URL)."
            ) % {"path": data_dir})
        connections.close_all()
        for path in (name, name.with_name(name.name + "-wal"), name.with_name(name.name + "-shm")):
            path.unlink(missing_ok=True)
        self.stdout.write(_("Deleted %(path)s.") % {"path": name})

    def print_welcome(self, host: str, port: int) -> None:
        shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 -- only for display
        url = f"http://{shown_host}:{port}/"
        logins = [list(row) for row in demo.demo_logins()]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("Kehu demo is starting on %(url)s") % {"url": url}))
        self.stdout.write(_("API docs: %(url)sapi/v1/docs") % {"url": url})
        self.stdout.write("")
        self.stdout.write(_("Demo logins (the same password for all):"))
        self.stdout.write(table([_("Email"), _("Password"), _("Role"), _("Workspaces")], logins))
        self.stdout.write("")
        self.stdout.write(_("Press Ctrl-C to stop."))
        self.stdout.flush()

