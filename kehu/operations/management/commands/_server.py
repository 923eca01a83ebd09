"""Running granian (WSGI) and the task worker as supervised child processes.

Both ``kehu demo`` and ``kehu serve`` start their servers as children in their own sessions and
forward SIGINT/SIGTERM to them. A terminal's Ctrl-C otherwise reaches every process of the group
at once, and a granian worker process interrupted that way hangs instead of exiting; forwarding
the signal to granian's main process alone lets it stop its workers in order.
"""

import signal
import socket
import subprocess
import sys
import time

from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

WSGI_TARGET = "kehu.wsgi:application"


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s (%(error)s). Is Kehu already running? Try --port.")
                % {"host": host, "port": port, "error": exc.strerror}
            ) from None


def unapplied_migrations() -> int:
    executor = MigrationExecutor(connections["default"])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def granian_command(
    host: str, port: int, workers: int, *, threads: int = 8, access_log: bool = False
) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws",
        "--host", host, "--port", str(port), "--workers", str(workers),
        # Threads per worker for blocking Django code; more would only queue on the database.
        # No --backpressure: capped at the thread count it left browser requests for static files
        # hanging on kept-alive connections (about one page load in three, in Chromium).
        "--blocking-threads", str(threads),
        "--access-log" if access_log else "--no-access-log",
        WSGI_TARGET,
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "kehu.cli", "worker", "--verbosity", "0"]


def scheduler_command() -> list[str]:
    return [sys.executable, "-m", "kehu.cli", "scheduler", "--verbosity", "0"]


def supervise(commands: list[list[str]], stop_timeout: float = 15.0) -> int:
    """Run the commands as children until a signal arrives or one exits; then stop them all.

    Returns 0 after a requested stop, else the exit code of the child that ended first.
    """
    connections.close_all()  # children open their own
    # The commands are built here from our own interpreter and options, not from user text.
    children = [subprocess.Popen(command, start_new_session=True) for command in commands]  # noqa: S603
    requested = False

    def on_signal(signum, frame):
        nonlocal requested
        requested = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not requested and all(child.poll() is None for child in children):
            time.sleep(0.2)
        first_exit = next((child.returncode for child in children if child.returncode is not None), 0)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + stop_timeout
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if requested else (first_exit or 1)
