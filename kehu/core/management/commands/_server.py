"""Running granian (WSGI) from a management command, and checks before it starts."""

import socket

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
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def serve(host: str, port: int, workers: int, *, threads: int = 8, log_access: bool = False) -> None:
    """Serve the WSGI app until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    from granian import Granian
    from granian.constants import Interfaces

    # Workers are new processes: they must not share this process's database connections.
    connections.close_all()
    Granian(
        WSGI_TARGET, address=host, port=port, interface=Interfaces.WSGI, workers=workers,
        # Threads per worker for blocking Django code; more only queue on the database anyway.
        blocking_threads=threads, backpressure=threads, log_access=log_access,
    ).serve()
