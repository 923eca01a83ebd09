"""Counting requests for rate limits and lockouts, and the address they came from.

One counter in the shared cache (the database cache by default, Redis with ``KEHU_CACHE_URL``, so
every worker and machine counts together) serves the API rate limits, the login lockout by address
and the public web-to-lead forms. For a fixed window, put the window's start in the key::

    window = 600
    hits = count_hit(f"kehu:leadform:{form.pk}:{client_ip(request)}:{window_start(window)}", window)
    if hits > limit: ...
"""

import time

from django.core.cache import cache
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
    under concurrent requests (an atomic increment in the cache).
    """
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
