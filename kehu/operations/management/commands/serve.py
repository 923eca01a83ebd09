"""``kehu serve``: the production web server (granian, WSGI, several worker processes).

Configured by environment variables: ``KEHU_HOST`` (default 127.0.0.1), ``KEHU_PORT`` (8000),
``KEHU_WORKERS`` (2 processes), ``KEHU_THREADS`` (8 per process). Static files are collected
first and served by whitenoise (compressed, with hashed names for long caching): no CDN and no
separate web server needed.
"""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ._server import ensure_port_free, granian_command, supervise, unapplied_migrations


class Command(BaseCommand):
    help = "Run the production web server (granian, WSGI)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("KEHU_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("KEHU_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KEHU_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("KEHU_THREADS", "8")),
                            help="Request threads per worker process.")
        parser.add_argument("--allow-debug", action="store_true", help="Start even though DEBUG is on.")
        parser.add_argument("--no-collectstatic", action="store_false", dest="collectstatic",
                            help="Skip collectstatic (static files were collected at build time).")
        parser.add_argument("--access-log", action="store_true", help="Log every request.")

    def handle(self, *args, **options):
        if settings.DEBUG and not options["allow_debug"]:
            raise CommandError(_(
                "DEBUG is on (KEHU_DEBUG); it must not serve real users. Unset it, or pass --allow-debug."
            ))
        if options["workers"] < 1:
            raise CommandError(_("--workers must be at least 1."))
        ensure_port_free(options["host"], options["port"])
        if options["collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        pending = unapplied_migrations()
        if pending:
            self.stderr.write(self.style.WARNING(
                _("%(count)s database migrations are not applied yet: run “kehu migrate”.")
                % {"count": pending}
            ))
        self.stdout.write(_("Kehu serving on http://%(host)s:%(port)s/ with %(workers)s workers.")
                          % {"host": options["host"], "port": options["port"], "workers": options["workers"]})
        self.stdout.flush()
        code = supervise([granian_command(
            options["host"], options["port"], options["workers"], threads=options["threads"],
            access_log=options["access_log"],
        )])
        if code:
            raise CommandError(
                _("The web server stopped unexpectedly (exit code %(code)s).") % {"code": code}
            )
