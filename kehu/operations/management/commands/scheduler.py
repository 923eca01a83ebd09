"""``kehu scheduler``: enqueue the periodic jobs (follow-up plans, task reminders) once a minute.

The jobs themselves run on the task worker (``kehu worker``); this loop only enqueues them, for
every workspace. They are idempotent, so running two schedulers, or restarting one, does no harm.
"""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.translation import gettext as _

from kehu.activities import schedule
from kehu.analytics import schedule as analytics_schedule
from kehu.mailboxes import schedule as mailboxes_schedule
from kehu.predictions import schedule as predictions_schedule
from kehu.quotes import schedule as quotes_schedule
from kehu.reports import schedule as reports_schedule
from kehu.scoring import schedule as scoring_schedule
from kehu.tickets import escalation as escalation_schedule
from kehu.tickets import schedule as tickets_schedule


class Command(BaseCommand):
    help = "Enqueue the periodic background jobs every minute (run next to `kehu worker`)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between ticks.")
        parser.add_argument("--once", action="store_true", help="Tick once, then exit.")

    def handle(self, *args, **options):
        stop = False

        def on_signal(signum, frame):
            nonlocal stop
            stop = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        while not stop:
            started = time.monotonic()
            try:
                count = schedule.tick() + scoring_schedule.tick() + quotes_schedule.tick()
                count += tickets_schedule.tick()  # auto-close resolved tickets
                count += escalation_schedule.tick()  # SLA warnings and escalations
                count += mailboxes_schedule.tick()  # IMAP polls, reply mail retries
                count += predictions_schedule.tick()  # weekly model refit, nightly scoring
                count += reports_schedule.tick()  # scheduled dashboard emails
                count += analytics_schedule.tick()  # nightly full and incremental score recomputes
            except Exception:  # a database hiccup must not end the loop
                self.stderr.write(_("The scheduler tick failed; retrying at the next one."))
                if options["once"]:
                    raise
            else:
                if options["verbosity"] > 1 or options["once"]:
                    self.stdout.write(_("Enqueued %(n)s jobs.") % {"n": count})
            if options["once"]:
                return
            close_old_connections()  # between ticks: a long-lived loop must not keep a dead connection
            while not stop and time.monotonic() - started < options["interval"]:
                time.sleep(0.2)
