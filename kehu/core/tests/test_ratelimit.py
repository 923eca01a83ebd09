"""The one request counter (rate limits, lockouts, public forms) and the client address."""

import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from kehu.core import ratelimit
from kehu.core.models import RequestCounter
from kehu.core.ratelimit import GRACE_SECONDS, client_ip, count_hit, window_start


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


def test_count_hit_counts_per_key(monkeypatch):
    assert [count_hit("kehu:test:a", 60) for _ in range(3)] == [1, 2, 3]
    assert count_hit("kehu:test:b", 60) == 1
    later = time.time() + 60 + GRACE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the window is over: the count starts again
    assert count_hit("kehu:test:a", 60) == 1
    assert count_hit("kehu:test:a", 60) == 2


def test_database_counting_is_one_query_per_hit(django_assert_num_queries):
    count_hit("kehu:test:c", 60)
    with django_assert_num_queries(1):
        assert count_hit("kehu:test:c", 60) == 2


def test_expired_counters_are_swept(monkeypatch):
    count_hit("kehu:test:old", 1)
    later = time.time() + 10
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(ratelimit, "SWEEP_CHANCE", 1.0)
    count_hit("kehu:test:new", 60)
    assert list(RequestCounter.objects.values_list("key", flat=True)) == ["kehu:test:new"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_all_counted():
    """Two threads hitting one key: no hit is lost (the cache's read-then-write could lose some)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def hit(_):
        try:
            return count_hit("kehu:test:race", 60)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        results = sorted(pool.map(hit, range(40)))
    assert results == list(range(1, 41))


def test_window_start_and_client_ip():
    assert window_start(600, now=1_000_000_123.5) == 999_999_600
    assert window_start(60, now=120) == 120
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == "10.1.2.3"  # forwarding headers are not trusted
    request.META.pop("REMOTE_ADDR")
    assert client_ip(request) is None
