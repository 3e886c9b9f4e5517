"""The cache (Redis) holds JSON only: a pickle written into it is never unpickled."""

from __future__ import annotations

import pickle

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer

from astro.core.cache import JSONSerializer


class _OpensAFile:
    """A pickle payload that creates a file when unpickled: code run by whoever wrote Redis."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _raw_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def test_the_cache_uses_the_json_serializer():
    assert isinstance(cache._cache._serializer, JSONSerializer)


def test_a_pickle_written_into_redis_is_not_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_OpensAFile(marker))
    # The payload is live: Django's default serializer would run it.
    RedisSerializer().loads(payload)
    assert marker.exists()
    marker.unlink()

    key = "steam-session:attack"
    _raw_redis().set(cache.make_key(key), payload, ex=60)
    try:
        assert cache.get(key) is None
        assert cache.get_many([key]).get(key) is None
    finally:
        cache.delete(key)
    assert not marker.exists()


def test_values_round_trip_and_counters_stay_counters():
    values = {"dict": {"a": [1, 2.5, None, "x"], "b": True}, "text": "123", "flag": False, "float": 0.25}
    try:
        for key, value in values.items():
            cache.set(f"json-test:{key}", value, 60)
            assert cache.get(f"json-test:{key}") == value
        cache.set("json-test:count", 1, 60)
        assert cache.incr("json-test:count") == 2  # a bare integer in Redis, so INCR works
        assert _raw_redis().get(cache.make_key("json-test:dict")).startswith(b"{")
    finally:
        cache.delete_many([f"json-test:{k}" for k in [*values, "count"]])


def test_a_value_json_cannot_hold_is_refused_at_once():
    with pytest.raises(TypeError):
        cache.set("json-test:set", {1, 2}, 60)
    with pytest.raises(ValueError):
        JSONSerializer().dumps(float("nan"))
