"""The one request counter (rate limits, lockouts, public forms) and the client address."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from kehu.core.ratelimit import client_ip, count_hit, window_start


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


def test_count_hit_counts_per_key():
    assert [count_hit("kehu:test:a", 60) for _ in range(3)] == [1, 2, 3]
    assert count_hit("kehu:test:b", 60) == 1
    cache.delete("kehu:test:a")  # expired: the count starts again
    assert count_hit("kehu:test:a", 60) == 1


def test_window_start_and_client_ip():
    assert window_start(600, now=1_000_000_123.5) == 999_999_600
    assert window_start(60, now=120) == 120
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == "10.1.2.3"  # forwarding headers are not trusted
    request.META.pop("REMOTE_ADDR")
    assert client_ip(request) is None
