"""Fixtures for the integration API: systems, keys, clients, pool items.

Every response an API test client sees is recorded (operation, status), so
tests/api/test_schema.py can check that each status code the OpenAPI schema
documents is produced by some test.
"""

from __future__ import annotations

import itertools
import re
import threading
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from astro.integrations.models import ALL_SCOPES
from astro.integrations.services import api_key_create, external_system_create
from items.models import Item

SEEN_RESPONSES: set[tuple[str, str, int]] = set()
_seen_lock = threading.Lock()
_asset_ids = itertools.count(10_000_000_000)


def _openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


class RecordingClient(APIClient):
    """DRF's test client, with the key set once and every (operation, status) recorded."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        match = getattr(response, "resolver_match", None)
        if match is not None and match.route:
            with _seen_lock:
                SEEN_RESPONSES.add((kwargs["REQUEST_METHOD"].lower(), _openapi_path(match.route), response.status_code))
        return response


def pytest_collection_modifyitems(config, items):
    # The schema coverage check must see every other API test's responses first.
    last = [item for item in items if item.nodeid.startswith("tests/api/test_schema.py::test_every_documented")]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(autouse=True)
def _roomy_anonymous_limit(settings):
    # Every test client comes from 127.0.0.1, and the limiter's buckets live in Redis across
    # tests: the anonymous limit is tested on its own, with addresses of its own (test_limits.py).
    settings.API_ANON_RATE = "100000/min"


@pytest.fixture
def make_system(db):
    def make(slug="sourcemod_giveaway", *, scopes=ALL_SCOPES, rate_limit="100000/min", active=True):
        system = external_system_create(slug=slug, scopes=list(scopes), rate_limit=rate_limit, actor="tests",
                                        source="command")
        if not active:
            system.is_active = False
            system.save(update_fields=["is_active"])
        return system

    return make


@pytest.fixture
def make_client(make_system):
    def make(system=None, *, scopes=None, key=None):
        system = system or make_system()
        plaintext = key or api_key_create(system=system, scopes=scopes, actor="tests", source="command")[1]
        client = RecordingClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
        client.system = system
        return client

    return make


@pytest.fixture
def api(make_client):
    """A client of system `sourcemod_giveaway` with every scope."""
    return make_client()


@pytest.fixture
def anon():
    return RecordingClient()


@pytest.fixture
def make_items(db):
    def make(count=1, **fields):
        items = []
        for n in range(count):
            asset_id = next(_asset_ids)
            values = {
                "steam_asset_id": asset_id, "steam_class_id": 310776, "steam_instance_id": 0, "steam_app_id": 730,
                "steam_context_id": 2, "market_hash_name": f"AK-47 | Redline (Field-Tested) #{n}",
                "item_name": f"AK-47 | Redline #{n}", "item_type": "Rifle", "item_rarity": "Classified",
                "market_value": Decimal("12.34"), "status": "available", "received_via": "initial_import",
            }
            values.update(fields)
            items.append(Item(**values))
        return Item.objects.bulk_create(items)

    return make


USER = 76561198123456789
OTHER_USER = 76561198000000001
TRADE_URL = f"https://steamcommunity.com/tradeoffer/new/?partner={USER - 76561197960265728}&token=AbCd1234"


def assignment_body(item_ids, *, system="sourcemod_giveaway", user=USER, **extra):
    body = {
        "userId": user,
        "itemIds": [str(i) for i in item_ids],
        "assignmentType": "giveaway",
        "externalSystem": system,
        "externalContext": {"giveawayId": "gw_123", "serverName": "Community Server #1"},
    }
    body.update(extra)
    return body


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
