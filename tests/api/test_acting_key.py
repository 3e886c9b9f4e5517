"""Every event an API request writes names the key that made it (issue 12 #5)."""

from __future__ import annotations

import pytest

from assignments.services import assignment_cancel
from astro.core.acting import current_api_key
from astro.integrations.services import api_key_create
from audit.models import SystemEvent
from tests.api.conftest import TRADE_URL, USER, RecordingClient, assignment_body

pytestmark = pytest.mark.django_db


def _with(plaintext):
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


def test_api_events_record_the_key_id_and_prefix(make_system, make_items):
    system = make_system()
    first, first_plain = api_key_create(system=system, name="server 1", actor="ops", source="admin")
    second, second_plain = api_key_create(system=system, name="server 2", actor="ops", source="admin")
    items = make_items(2)

    created = _with(first_plain).post("/api/assignments", assignment_body([items[0].id]), format="json").json()
    _with(second_plain).put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL}, format="json")
    _with(second_plain).post(f"/api/assignments/{created['id']}/cancel", {"reason": "void"}, format="json")

    by_type = {e.event_type: e for e in SystemEvent.objects.filter(source="api")}
    assert {"assignment.created", "item.reserved", "user.trade_url_set", "assignment.cancelled"} <= set(by_type)
    for event_type, key in (("assignment.created", first), ("item.reserved", first),
                            ("user.trade_url_set", second), ("assignment.cancelled", second)):
        data = by_type[event_type].event_data
        assert (data["apiKeyId"], data["apiKeyPrefix"]) == (str(key.id), key.prefix), event_type
    # The key's own events are the operator's (source admin), not a request's.
    assert "apiKeyId" not in SystemEvent.objects.get(event_type="api.key_created", event_data__prefix=first.prefix).event_data


def test_the_key_does_not_outlive_its_request(api, make_items):
    items = make_items(2)
    created = api.post("/api/assignments", assignment_body([items[0].id]), format="json").json()
    assert current_api_key() is None
    # A service called with source="api" outside a request has no key to name.
    assignment_cancel(assignment_id=created["id"], actor="sourcemod_giveaway", source="api")
    cancelled = SystemEvent.objects.get(event_type="assignment.cancelled")
    assert "apiKeyId" not in cancelled.event_data and "apiKeyPrefix" not in cancelled.event_data


def test_refused_requests_write_nothing_and_bind_nothing(make_client, make_system):
    client = make_client(make_system(scopes=["items:read"]))
    assert client.post("/api/sync/runs").status_code == 403
    assert current_api_key() is None
    assert not SystemEvent.objects.filter(source="api").exists()
