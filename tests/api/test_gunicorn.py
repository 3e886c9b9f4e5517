"""Astro served by gunicorn, as `make demo` and production serve it: 100 concurrent
POST /api/assignments get only 201 or 409 (Django's development server reset about half
of them), and an overlong request line is the web server's documented 414."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from astro.integrations.services import api_key_create
from tests.api.conftest import assignment_body
from tests.api.live import gunicorn_api  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 100


def test_a_hundred_concurrent_creates_get_only_201_and_409(gunicorn_api, make_system, make_items):
    system = make_system()
    _, key = api_key_create(system=system, actor="tests", source="command")
    items = make_items(30)
    server = gunicorn_api(workers=3)
    barrier = threading.Barrier(CLIENTS)
    results: list = [None] * CLIENTS

    def post(n: int) -> None:
        # Every client wants one of 30 items: a few win, the others are told why not.
        body = assignment_body([items[n % len(items)].id], user=76561198000000100 + n)
        try:
            barrier.wait(timeout=60)
            response = requests.post(f"{server.url}/api/assignments", json=body, timeout=120,
                                     headers={"Authorization": f"Api-Key {key}"})
            results[n] = response.status_code
        except requests.RequestException as exc:  # a reset or refused connection
            results[n] = type(exc).__name__

    threads = [threading.Thread(target=post, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    counts = Counter(results)
    assert set(counts) <= {201, 409}, (counts, server.output()[-3000:])
    assert counts[201] == len(items)


def test_an_overlong_request_line_is_the_documented_414(gunicorn_api, make_client):
    key = make_client()._credentials["HTTP_AUTHORIZATION"]
    server = gunicorn_api(workers=1)
    response = requests.get(f"{server.url}/api/items", params={"search": "x" * 9000}, timeout=30,
                            headers={"Authorization": key})
    assert response.status_code == 414
    assert requests.get(f"{server.url}/api/items", params={"search": "x" * 100}, timeout=30,
                        headers={"Authorization": key}).status_code == 200
