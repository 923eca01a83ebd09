"""Counting requests for rate limits and lockouts, and the address they came from.

One counter shared by every worker and machine serves the API rate limits, the login lockout by address
and the public web-to-lead forms. For a fixed window, put the window's start in the key::

    window = 600
    hits = count_hit(f"kehu:leadform:{form.pk}:{client_ip(request)}:{window_start(window)}", window)
    if hits > limit: ...

Where it counts: in Redis when the deployment has one (``KEHU_CACHE_URL``: an atomic ``INCR``),
else in the database's ``RequestCounter`` table with one atomic upsert per hit (the database
cache's increment is a read, a write and a cull check: ~8 queries, and not atomic).
"""

import random
import time

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django.http import HttpRequest

# A counter outlives its window a little, so the window's last hits still find it.
GRACE_SECONDS = 5


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from (``REMOTE_ADDR``), or None when the server gave none.

    Forwarding headers (``X-Forwarded-For``) are not read: anyone can send them. Behind a reverse
    proxy, let the proxy server set the client's address as the remote address.
    """
    return request.META.get("REMOTE_ADDR") or None


def window_start(window: int, now: float | None = None) -> int:
    """The start (Unix seconds) of the fixed window of ``window`` seconds that ``now`` falls in."""
    now = time.time() if now is None else now
    return int(now // window * window)


def count_hit(key: str, window: int) -> int:
    """Count one hit on ``key``; the number of hits so far, this one included.

    The counter starts at its first hit and is forgotten ``window`` seconds later; it is safe
    under concurrent requests (an atomic increment).
    """
    if _is_database_cache():
        return _count_in_database(key, window)
    # Increment first: every hit but a window's first finds the counter (one cache call, not an
    # ``add`` that fails and then the ``incr``).
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet
        pass
    timeout = window + GRACE_SECONDS
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:  # another request started the counter meanwhile
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def over_limit(request: HttpRequest, bucket: str, limit: int, window: int) -> bool:
    """Count this request against its address in ``bucket`` for the current fixed ``window``
    (seconds); True once the address has made more than ``limit`` of them (the public forms, the
    help centre's feedback, the bot)."""
    window = max(1, window)
    key = f"kehu:{bucket}:{client_ip(request) or 'unknown'}:{window_start(window)}"
    return count_hit(key, window) > limit


def hits_of(key: str) -> int:
    """How many hits ``key`` has in its current window, without counting one."""
    if not _is_database_cache():
        return cache.get(key) or 0
    from kehu.core.models import RequestCounter

    row = RequestCounter.objects.filter(key=key, expires_at__gte=time.time()).values_list("hits", flat=True)
    return row.first() or 0


def _is_database_cache() -> bool:
    return isinstance(caches["default"], DatabaseCache)


# Expired counters are deleted now and then by a hit that starts a new one, so the table stays the
# size of the live windows without a scheduled job.
SWEEP_CHANCE = 0.01


def _count_in_database(key: str, window: int) -> int:
    from kehu.core.models import RequestCounter

    table = connection.ops.quote_name(RequestCounter._meta.db_table)
    key_column = connection.ops.quote_name("key")
    now = time.time()
    expires = now + window + GRACE_SECONDS
    # One statement on SQLite (≥ 3.35) and PostgreSQL: insert, or count on — or restart the
    # counter when its window is over.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, hits, expires_at) VALUES (%s, 1, %s) "  # noqa: S608 — names only
            f"ON CONFLICT ({key_column}) DO UPDATE SET "
            f"hits = CASE WHEN {table}.expires_at < %s THEN 1 ELSE {table}.hits + 1 END, "
            f"expires_at = CASE WHEN {table}.expires_at < %s THEN excluded.expires_at "
            f"ELSE {table}.expires_at END "
            "RETURNING hits",
            [key, expires, now, now],
        )
        hits = cursor.fetchone()[0]
    if hits == 1 and random.random() < SWEEP_CHANCE:  # noqa: S311 — load spreading, not security
        RequestCounter.objects.filter(expires_at__lt=now).delete()
    return hits
