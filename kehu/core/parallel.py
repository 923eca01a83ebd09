"""Read-only SQL spread over worker connections, one per thread — both cores for one big query.

PostgreSQL runs a query on one core unless it plans a parallel scan, which it never does under a
window function or for an ordered aggregate; a query split by key range (accounts ``lo < id <= hi``)
can run on two connections side by side. Workers see only committed rows, so inside a transaction
(a test's, or a caller's uncommitted writes) and on SQLite everything runs on the caller's
connection, one share after another.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection, connections

WORKERS = 2


def can_use_workers() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block and WORKERS > 1


def on_workers[T](work: Callable[[Any, tuple], T], items: Sequence[tuple]) -> list[T]:
    """``work(cursor, item)`` for every item, results in item order: on ``WORKERS`` connections of their
    own when ``can_use_workers()``, else on the caller's connection."""
    if len(items) < 2 or not can_use_workers():
        with connection.cursor() as cursor:
            return [work(cursor, item) for item in items]

    def share(numbered: list[tuple[int, tuple]]) -> list[tuple[int, T]]:
        try:
            with connections[connection.alias].cursor() as cursor:  # this thread's own connection
                return [(i, work(cursor, item)) for i, item in numbered]
        finally:
            connections[connection.alias].close()

    numbered = list(enumerate(items))
    with ThreadPoolExecutor(WORKERS) as pool:
        shares = [pool.submit(share, numbered[i::WORKERS]) for i in range(WORKERS)]
        done = sorted((pair for s in shares for pair in s.result()), key=lambda pair: pair[0])
    return [result for _i, result in done]
