"""Rate limits: exact under concurrency (one Redis round trip decides), per key, and per
client address for requests without a valid key."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.api.concurrency import run_at_once
from tests.api.conftest import RecordingClient, assert_error


def _address() -> str:
    # A fresh bucket per test: the limiter's state outlives a test in Redis.
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_on_a_five_per_minute_key_let_exactly_five_through(make_client, make_system):
    header = make_client(make_system(rate_limit="5/min"))._credentials["HTTP_AUTHORIZATION"]

    def get(_):
        client = RecordingClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/items")
        return response.status_code, response.get("Retry-After")

    results = run_at_once(20, get)

    assert Counter(status for status, _ in results) == {200: 5, 429: 15}
    assert all(int(retry) >= 1 for status, retry in results if status == 429)


@pytest.mark.django_db
def test_requests_without_a_key_are_limited_per_address(settings):
    settings.API_ANON_RATE = "3/min"
    address, other = _address(), _address()
    anon = RecordingClient()
    statuses = [anon.get("/api/items", REMOTE_ADDR=address).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    response = anon.get("/api/items", REMOTE_ADDR=address)
    error = assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1 and error["details"]["retryAfterSeconds"] == int(response["Retry-After"])
    assert "without a valid API key" in error["message"]
    # Another address has its own allowance.
    assert anon.get("/api/items", REMOTE_ADDR=other).status_code == 401


@pytest.mark.django_db
def test_wrong_keys_count_against_the_address_too(settings, make_client):
    settings.API_ANON_RATE = "2/min"
    address = _address()
    guesser = RecordingClient()
    guesser.credentials(HTTP_AUTHORIZATION="Api-Key astro_0123456789ab_guess")
    assert [guesser.get("/api/items", REMOTE_ADDR=address).status_code for _ in range(2)] == [401, 401]
    assert_error(guesser.get("/api/items", REMOTE_ADDR=address), 429, "rate_limited")
    # A valid key from the same address is limited by its own rate, not the address's.
    assert make_client().get("/api/items", REMOTE_ADDR=address).status_code == 200


@pytest.mark.django_db
def test_the_client_address_is_taken_from_the_trusted_proxies_only(settings):
    settings.API_ANON_RATE = "1/min"
    proxy = _address()
    anon = RecordingClient()
    # No trusted proxy: X-Forwarded-For is whatever the client wrote, and is ignored.
    settings.TRUSTED_PROXY_COUNT = 0
    assert anon.get("/api/items", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address()).status_code == 401
    assert anon.get("/api/items", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address()).status_code == 429
    # One trusted proxy: the entry it appended is the client; a spoofed entry before it changes nothing.
    settings.TRUSTED_PROXY_COUNT = 1
    client = _address()
    assert anon.get("/api/items", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {client}").status_code == 401
    assert anon.get("/api/items", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"5.6.7.8, {client}").status_code == 429
    assert anon.get("/api/items", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address()).status_code == 401


@pytest.mark.django_db
def test_the_health_check_is_not_limited(settings, anon):
    settings.API_ANON_RATE = "1/min"
    address = _address()
    codes = {anon.get("/api/health", REMOTE_ADDR=address).status_code for _ in range(3)}
    assert 429 not in codes
