"""External systems in the operator's hands: default scopes, rotation that never widens a
key, deactivation (401 system_inactive, promises kept) and audited changes of scopes,
rate limit and maximum priority (issue 12 #18, #21)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from assignments.delivery import delivery_poll, delivery_run
from astro.core.errors import Conflict
from astro.integrations.models import ApiKey, ExternalSystem
from astro.integrations.services import api_key_create, api_key_rotate, external_system_create, external_system_update
from tests.api.conftest import RecordingClient, assert_error
from tests.assignments.delivery_support import assign, our_offers, reload, steam_user, stock, wait_for
from tests.support.admin import events_of


def _client(plaintext):
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


@pytest.fixture
def manager_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("kim", password="x" * 24))
    return client


@pytest.mark.django_db
def test_a_new_system_may_do_everything_but_request_syncs():
    system = external_system_create(slug="discord_bot", actor="t", source="command")
    assert sorted(system.scopes) == ["assignments:read", "assignments:write", "events:read", "items:read"]
    out = StringIO()
    call_command("create_api_key", "web_shop", stdout=out)
    assert "sync:trigger" not in out.getvalue()
    assert "sync:trigger" not in ExternalSystem.objects.get(slug="web_shop").scopes


@pytest.mark.django_db
def test_a_rotation_keeps_exactly_the_old_scopes_or_fails(settings):
    system = external_system_create(slug="shop", scopes=["items:read", "sync:trigger"], actor="t", source="command")
    narrow, _ = api_key_create(system=system, scopes=["sync:trigger"], actor="t")
    everything, _ = api_key_create(system=system, actor="t")
    external_system_update(system_id=system.pk, scopes=["items:read"], actor="ops", source="admin", reason="no syncs")

    # The old key had only sync:trigger, which the system no longer grants: keeping "the rest"
    # would be an empty list, which means every scope of the system. Refused, nothing changes.
    with pytest.raises(Conflict) as refused:
        api_key_rotate(key_id=narrow.id, actor="ops")
    assert refused.value.code == "api_key_scopes_changed"
    assert not ApiKey.objects.get(id=narrow.id).is_revoked
    assert ApiKey.objects.filter(system=system).count() == 2

    rotated, plaintext = api_key_rotate(key_id=everything.id, actor="ops")
    assert rotated.scopes == [] and rotated.effective_scopes() == {"items:read"}
    assert _client(plaintext).get("/api/items").status_code == 200


@pytest.mark.django_db
def test_the_admin_changes_scopes_rate_limit_and_priority_with_an_audited_reason(manager_client):
    system = external_system_create(slug="shop", scopes=["items:read", "sync:trigger"], actor="t", source="command")
    _, plaintext = api_key_create(system=system, actor="t")
    assert _client(plaintext).post("/api/sync/runs").status_code == 202
    url = reverse("admin:astro_externalsystem_settings", args=[system.pk])
    page = manager_client.get(reverse("admin:astro_externalsystem_change", args=[system.pk]))
    assert url.encode() in page.content

    refused = manager_client.post(url, {"scopes": ["items:read"], "rate_limit": "10/s", "max_priority": "5"})
    assert refused.status_code == 200 and ExternalSystem.objects.get(pk=system.pk).scopes != ["items:read"]  # no reason
    manager_client.post(url, {"scopes": ["items:read"], "rate_limit": "10/s", "max_priority": "5",
                              "reason": "the shop must not trigger syncs"})

    changed = ExternalSystem.objects.get(pk=system.pk)
    assert (changed.scopes, changed.rate_limit, changed.max_priority) == (["items:read"], "10/s", 5)
    [event] = events_of("api.system_updated")
    assert event.actor == "kim" and event.external_system == "shop"
    assert event.event_data == {
        "changes": {"scopes": {"from": ["items:read", "sync:trigger"], "to": ["items:read"]},
                    "rateLimit": {"from": system.rate_limit, "to": "10/s"}, "maxPriority": {"from": 0, "to": 5}},
        "reason": "the shop must not trigger syncs",
    }
    # At once, for the key that already exists.
    assert_error(_client(plaintext).post("/api/sync/runs"), 403, "insufficient_scope")
    bad = manager_client.post(url, {"scopes": ["items:read"], "rate_limit": "lots", "max_priority": "5000",
                                    "reason": "x"})
    assert bad.status_code == 200 and len(events_of("api.system_updated")) == 1


@pytest.mark.django_db
def test_viewers_and_operators_cannot_change_a_system(client, make_staff):
    system = external_system_create(slug="shop", actor="t", source="command")
    for role in ("viewer", "operator"):
        client.force_login(make_staff(f"user-{role}", role))
        url = reverse("admin:astro_externalsystem_settings", args=[system.pk])
        assert client.post(url, {"rate_limit": "1/s", "max_priority": "1", "reason": "x"}).status_code == 403
        op = reverse("admin:astro_externalsystem_operation", args=[system.pk, "deactivate_system"])
        assert client.post(op, {"post": "yes", "reason": "x"}).status_code == 403
    assert ExternalSystem.objects.get(pk=system.pk).is_active
    assert not events_of("api.system_updated")


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_system_is_refused_with_401_and_its_assignments_are_still_delivered(sandbox, manager_client):
    system = external_system_create(slug="test_system", actor="t", source="command")
    _, plaintext = api_key_create(system=system, actor="t")
    remote, user = steam_user(sandbox, "accept")
    assignment = assign(user, stock(sandbox))

    op = reverse("admin:astro_externalsystem_operation", args=[system.pk, "deactivate_system"])
    manager_client.post(op, {"post": "yes", "reason": "contract ended"})

    assert not ExternalSystem.objects.get(pk=system.pk).is_active
    [event] = events_of("api.system_updated")
    assert event.severity == "warning"
    assert event.event_data == {"changes": {"isActive": {"from": True, "to": False}}, "reason": "contract ended"}
    response = _client(plaintext).get(f"/api/assignments/{assignment.id}")
    assert_error(response, 401, "system_inactive")
    # The promise to the user stands.
    assert delivery_run(assignment_id=assignment.id).outcome == "sent"
    wait_for(lambda: our_offers(sandbox, remote, state=3), what="the user to accept")
    delivery_poll()
    assert reload(assignment).status == "delivered"

    manager_client.post(reverse("admin:astro_externalsystem_operation", args=[system.pk, "activate_system"]),
                        {"post": "yes", "reason": "renewed"})
    assert _client(plaintext).get(f"/api/assignments/{assignment.id}").status_code == 200
