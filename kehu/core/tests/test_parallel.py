"""Read-only SQL on worker connections (``kehu.core.parallel``)."""

import pytest
from django.db import connection, transaction

from kehu.core import parallel


def _backend(cursor, item: tuple) -> tuple:
    cursor.execute("SELECT %s * 2", [item[0]])
    (doubled,) = cursor.fetchone()
    pid = None
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return doubled, pid


@pytest.mark.django_db(transaction=True)
def test_results_come_back_in_item_order_from_worker_connections_outside_a_transaction():
    items = [(i,) for i in range(7)]
    results = parallel.on_workers(_backend, items)
    assert [doubled for doubled, _pid in results] == [2 * i for i in range(7)]
    pids = {pid for _d, pid in results}
    if connection.vendor == "postgresql":
        assert len(pids) == parallel.WORKERS  # each worker thread had its own backend
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] not in pids
    else:
        assert pids == {None}


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_everything_runs_on_the_callers_connection():
    with transaction.atomic():
        assert not parallel.can_use_workers()
        results = parallel.on_workers(_backend, [(1,), (2,), (3,)])
        with connection.cursor() as cursor:
            own = None
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_backend_pid()")
                own = cursor.fetchone()[0]
    assert [d for d, _p in results] == [2, 4, 6]
    assert {p for _d, p in results} == {own}
