"""API keys: authentication, scopes, system isolation, revocation, rate limits, the management command."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from astro.integrations.models import ApiKey, ExternalSystem
from astro.integrations.services import api_key_create, api_key_revoke, api_key_rotate
from audit.models import SystemEvent
from tests.api.conftest import RecordingClient, assert_error, assignment_body

pytestmark = pytest.mark.django_db


def with_key(plaintext):
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


def test_keys_are_hashed_at_rest_and_shown_once(make_system):
    system = make_system()
    key, plaintext = api_key_create(system=system, actor="ops", source="admin")
    prefix, secret = plaintext.split("_", 2)[1:]
    stored = ApiKey.objects.get(id=key.id)
    assert stored.prefix == prefix
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(id=key.id).values().first())
    event = SystemEvent.objects.get(event_type="api.key_created", external_system=system.slug)
    assert secret not in str(event.event_data) and event.actor == "ops"


@pytest.mark.parametrize("header", [
    None, "Api-Key", "Api-Key astro_nope_nope", "Api-Key not-a-key", "Bearer abc", "Api-Key a b",
    "Api-Key astro_%s_wrongsecret",
])
def test_missing_unknown_or_malformed_keys_get_401(make_client, header):
    client = make_client()
    real = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    anon = RecordingClient()
    if header:
        anon.credentials(HTTP_AUTHORIZATION=header.replace("%s", real.split("_")[1]))
    response = anon.get("/api/items")
    error = assert_error(response, 401)
    assert error["code"] in ("not_authenticated", "invalid_api_key")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_revoked_key_is_refused_at_once(make_system, make_items):
    system = make_system()
    key, plaintext = api_key_create(system=system, actor="ops")
    client = with_key(plaintext)
    assert client.get("/api/items").status_code == 200
    api_key_revoke(key_id=key.id, actor="ops")
    assert_error(client.get("/api/items"), 401, "invalid_api_key")
    assert SystemEvent.objects.filter(event_type="api.key_revoked").count() == 1


def test_rotation_gives_a_new_key_and_revokes_the_old(make_system):
    system = make_system()
    old, old_plain = api_key_create(system=system, scopes=["items:read"], name="shop", actor="ops")
    new, new_plain = api_key_rotate(key_id=old.id, actor="ops")
    assert (new.name, new.scopes) == ("shop", ["items:read"])
    assert_error(with_key(old_plain).get("/api/items"), 401, "invalid_api_key")
    assert with_key(new_plain).get("/api/items").status_code == 200


def test_inactive_system_keys_are_refused(make_client, make_system):
    # 401, not 403 (issue 12 #21): the key authenticates no one any more, like a revoked one.
    client = make_client(make_system(active=False))
    response = client.get("/api/items")
    assert_error(response, 401, "system_inactive")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_last_used_at_is_recorded(make_system):
    system = make_system()
    key, plaintext = api_key_create(system=system, actor="ops")
    with_key(plaintext).get("/api/items")
    assert ApiKey.objects.get(id=key.id).last_used_at is not None


@pytest.mark.parametrize("method,path,scope", [
    ("get", "/api/items", "items:read"),
    ("get", "/api/assignments", "assignments:read"),
    ("post", "/api/assignments", "assignments:write"),
    ("get", "/api/events", "events:read"),
    ("post", "/api/sync/runs", "sync:trigger"),
])
def test_each_operation_needs_its_scope(make_client, make_system, method, path, scope):
    everything_but = [s for s in ("items:read", "assignments:write", "assignments:read", "sync:trigger", "events:read")
                      if s != scope]
    client = make_client(make_system(scopes=everything_but))
    error = assert_error(getattr(client, method)(path, {}, format="json"), 403, "insufficient_scope")
    assert scope in error["message"] and error["details"] == {"requiredScope": scope}


def test_a_key_can_be_narrower_than_its_system(make_client, make_system):
    client = make_client(make_system(), scopes=["items:read"])
    assert client.get("/api/items").status_code == 200
    assert_error(client.get("/api/assignments"), 403, "insufficient_scope")


def test_a_key_cannot_act_as_another_system(api, make_system, make_items):
    make_system("discord_bot")
    items = make_items(1)
    response = api.post("/api/assignments", assignment_body([items[0].id], system="discord_bot"), format="json")
    error = assert_error(response, 403, "external_system_mismatch")
    assert error["details"] == {"externalSystem": "discord_bot"}
    assert items[0].__class__.objects.get(id=items[0].id).status == "available"


def test_another_systems_assignment_is_invisible(api, make_client, make_system, make_items):
    other = make_client(make_system("discord_bot"))
    items = make_items(1)
    theirs = other.post("/api/assignments", assignment_body([items[0].id], system="discord_bot"), format="json").json()
    assert_error(api.get(f"/api/assignments/{theirs['id']}"), 404, "not_found")
    assert_error(api.post(f"/api/assignments/{theirs['id']}/cancel"), 404, "not_found")
    assert api.get("/api/assignments").json()["results"] == []
    events = api.get("/api/events?pageSize=200").json()["results"]
    assert events and {e["externalSystem"] for e in events} == {"sourcemod_giveaway"}
    assert theirs["id"] not in {e["assignmentId"] for e in events}
    assert other.get(f"/api/assignments/{theirs['id']}").json()["status"] == "pending"  # untouched


def test_rate_limit_answers_429_with_retry_after(make_client, make_system):
    client = make_client(make_system(rate_limit="2/min"))
    assert client.get("/api/items").status_code == 200
    assert client.get("/api/items").status_code == 200
    response = client.get("/api/items")
    error = assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error["details"]["retryAfterSeconds"] == int(response["Retry-After"])


def test_rate_limit_is_per_key(make_client, make_system):
    system = make_system(rate_limit="1/min")
    first, second = make_client(system), make_client(system)
    assert first.get("/api/items").status_code == 200
    assert second.get("/api/items").status_code == 200
    assert_error(first.get("/api/items"), 429, "rate_limited")


def test_create_api_key_command_creates_the_system_and_prints_the_key_once(db):
    out = StringIO()
    call_command("create_api_key", "web_shop", "--name", "shop key", "--scopes", "items:read,assignments:write",
                 stdout=out)
    text = out.getvalue()
    plaintext = next(word for word in text.split() if word.startswith("astro_"))
    system = ExternalSystem.objects.get(slug="web_shop")
    assert sorted(system.scopes) == ["assignments:write", "items:read"]
    assert with_key(plaintext).get("/api/items").status_code == 200
    assert SystemEvent.objects.filter(event_type="api.system_created", external_system="web_shop").exists()
    # A second key for the same system: the system is reused.
    out = StringIO()
    call_command("create_api_key", "web_shop", "--quiet", stdout=out)
    assert out.getvalue().strip().startswith("astro_")
    assert ApiKey.objects.filter(system=system).count() == 2


def test_create_api_key_refuses_unknown_scopes(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="scopes"):
        call_command("create_api_key", "web_shop", "--scopes", "items:read,admin:everything", stdout=StringIO())
    assert not ExternalSystem.objects.exists()
