"""Items, users, events, sync runs and health."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.models import SystemEvent
from items.models import SteamUser, UserTradeUrl
from sync.models import InventorySyncLog
from tests.api.conftest import OTHER_USER, TRADE_URL, USER, assert_error, assignment_body

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_item_list_filters(api, make_items):
    ak = make_items(1, market_hash_name="AK-47 | Redline (Field-Tested)", item_name="AK-47 | Redline")[0]
    key = make_items(1, steam_app_id=440, market_hash_name="Mann Co. Supply Crate Key", item_name="Mann Co. Key",
                     item_type="Tool", item_rarity="Unique", market_value=Decimal("2.10"))[0]
    held = make_items(1, steam_context_id=16, tradable=False, tradable_after=timezone.now() + timedelta(days=7),
                      market_value=Decimal("100"), market_hash_name="Desert Eagle | Blaze", item_name="Blaze")[0]
    gone = make_items(1, status="delivered", market_hash_name="P250 | Sand Dune", item_name="Sand Dune")[0]

    assert ids(api.get("/api/items")) == {str(i.id) for i in (ak, key, held, gone)}
    assert ids(api.get("/api/items?status=available")) == {str(ak.id), str(key.id), str(held.id)}
    assert ids(api.get("/api/items?status=delivered&status=missing")) == {str(gone.id)}
    assert ids(api.get("/api/items?appId=440")) == {str(key.id)}
    assert ids(api.get("/api/items?appId=730&contextId=16")) == {str(held.id)}
    assert ids(api.get("/api/items?marketHashName=Mann%20Co.%20Supply%20Crate%20Key")) == {str(key.id)}
    assert ids(api.get("/api/items?search=redline")) == {str(ak.id)}
    assert ids(api.get("/api/items?type=tool&rarity=UNIQUE")) == {str(key.id)}
    assert ids(api.get("/api/items?minValue=50")) == {str(held.id)}
    assert ids(api.get("/api/items?maxValue=5")) == {str(key.id)}
    assert ids(api.get("/api/items?tradable=false")) == {str(held.id)}


def test_item_detail(api, make_items):
    item = make_items(1, steam_metadata={"icon_url": "IzMF03bi9WpSBq", "descriptions": [{"value": "x" * 5000}]})[0]
    body = api.get(f"/api/items/{item.id}").json()
    assert body["iconUrl"] == "https://community.akamai.steamstatic.com/economy/image/IzMF03bi9WpSBq"
    assert "steamMetadata" not in body and "descriptions" not in str(body)
    assert api.get("/api/items").json()["results"][0]["iconUrl"] == body["iconUrl"]
    assert body["assetId"] == str(item.steam_asset_id) and body["appId"] == 730 and body["marketValue"] == "12.34"
    assert "assignedToUser" not in body  # whom another system gave it to is not this system's business
    assert_error(api.get(f"/api/items/{uuid.uuid4()}"), 404, "not_found")


def test_put_user_sets_a_validated_trade_url(api):
    response = api.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tradeUrl"] == TRADE_URL and response.json()["steamId"] == str(USER)
    # Stored as this system's URL for the user (issue 12 #1), not on the user row.
    assert UserTradeUrl.objects.get(user_id=USER, external_system=api.system.slug).trade_url == TRADE_URL
    assert SystemEvent.objects.filter(event_type="user.created", user_id=USER).count() == 1
    event = SystemEvent.objects.get(event_type="user.trade_url_set", user_id=USER)
    assert "AbCd1234" not in str(event.event_data)  # the token stays out of the audit trail
    # Same URL again: nothing changes, nothing recorded.
    api.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL}, format="json")
    assert SystemEvent.objects.filter(event_type="user.trade_url_set").count() == 1

    body = api.get(f"/api/users/{USER}").json()
    assert body["tradeUrl"] == TRADE_URL
    assert_error(api.get(f"/api/users/{OTHER_USER}"), 404, "not_found")


def test_put_user_refuses_a_url_of_another_account_and_read_only_fields(api):
    other_url = TRADE_URL.replace(f"partner={USER - 76561197960265728}", "partner=12345")
    assert_error(api.put(f"/api/users/{USER}", {"tradeUrl": other_url}, format="json"), 400, "invalid_trade_url")
    error = assert_error(api.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL, "displayName": "x"}, format="json"), 400)
    assert error["details"]["fields"]["displayName"][0]["code"] == "read_only"
    assert_error(api.put(f"/api/users/{USER}", {}, format="json"), 400, "invalid_request")
    assert not SteamUser.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_setting_a_trade_url_resumes_waiting_deliveries(api, make_items):
    # The real path: the service sends items.signals.trade_url_set once its transaction
    # commits; the assignments app's receiver resumes what waited for a URL.
    from django.db import transaction

    from assignments.delivery import delivery_run
    from assignments.models import Assignment

    created = api.post("/api/assignments", assignment_body([make_items(1)[0].id]), format="json").json()
    assert delivery_run(assignment_id=created["id"]).outcome == "trade_url_required"  # no URL yet: nothing on Steam

    with transaction.atomic():
        assert api.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL}, format="json").status_code == 200
        # Not before the URL is committed.
        assert Assignment.objects.get(id=created["id"]).status_reason == "trade_url_required"
        assert not SystemEvent.objects.filter(event_type="assignment.resumed").exists()

    waiting = Assignment.objects.get(id=created["id"])
    assert (waiting.status, waiting.status_reason) == ("pending", None)
    [resumed] = SystemEvent.objects.filter(event_type="assignment.resumed")
    assert (resumed.assignment_id, resumed.user_id) == (waiting.id, USER)
    assert resumed.event_data == {"waitedFor": "trade_url_required"}


def test_events_are_filtered_and_own_only(api, make_client, make_system, make_items):
    other = make_client(make_system("discord_bot"))
    items = make_items(3)
    mine = api.post("/api/assignments", assignment_body([items[0].id, items[1].id]), format="json").json()
    other.post("/api/assignments", assignment_body([items[2].id], system="discord_bot"), format="json")

    rows = api.get(f"/api/events?assignmentId={mine['id']}").json()["results"]
    assert sorted(r["eventType"] for r in rows) == ["assignment.created", "item.reserved", "item.reserved"]
    assert {r["externalSystem"] for r in rows} == {"sourcemod_giveaway"}
    reserved = api.get(f"/api/events?eventType=item.reserved&itemId={items[0].id}").json()["results"]
    assert [r["itemId"] for r in reserved] == [str(items[0].id)]
    assert api.get(f"/api/events?itemId={items[2].id}").json()["results"] == []  # discord_bot's item event
    assert api.get(f"/api/events?userId={USER}&category=user").json()["results"][0]["eventType"] == "user.created"
    future = (timezone.now() + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/api/events?createdAfter={future}").json()["results"] == []


def test_sync_runs_request_and_list(api):
    response = api.post("/api/sync/runs")
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] == "queued" and run["trigger"] == "api"
    listed = api.get("/api/sync/runs").json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    # A second request while the first still waits joins it, and writes nothing (issue 12 #18).
    again = api.post("/api/sync/runs")
    assert again.status_code == 202 and again.json()["id"] == run["id"] and again.json()["status"] == "queued"
    assert [r["id"] for r in api.get("/api/sync/runs").json()["results"]] == [run["id"]]
    assert_error(api.post("/api/sync/runs", {"force": True}, format="json"), 400, "invalid_request")


def _recent_sync():
    now = timezone.now()
    InventorySyncLog.objects.create(sync_status="success", sync_started_at=now - timedelta(seconds=5),
                                    sync_completed_at=now, trigger="schedule")


def test_health_is_200_when_everything_answers(anon, settings):
    _recent_sync()
    response = anon.get("/api/health")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "steamSession", "lastSync"}
    assert body["checks"]["lastSync"]["ageSeconds"] < 60
    assert settings.SECRET_KEY not in response.content.decode()


def test_health_reports_the_cached_steam_session_without_logging_in(anon):
    from astro.steam.gateway import GatewayConfig

    _recent_sync()
    key = GatewayConfig.from_settings().session_key
    cache.set(key, {"version": "v1", "login_path": "password", "cookies": {"steamLoginSecure": "secret-cookie"},
                    "steam_id": 76561198000000000, "logged_in_at": "2026-01-01T00:00:00+00:00"}, 60)
    try:
        response = anon.get("/api/health")
    finally:
        cache.delete(key)
    session = response.json()["checks"]["steamSession"]
    assert session["state"] == "cached" and session["loginPath"] == "password"
    assert b"secret-cookie" not in response.content


def test_health_is_503_when_the_inventory_has_not_been_synced_lately(anon, settings):
    assert anon.get("/api/health").status_code == 503  # never synced: Astro does not know the inventory
    old = timezone.now() - timedelta(seconds=4 * settings.SYNC_INTERVAL_SECONDS)
    InventorySyncLog.objects.create(sync_status="success", sync_started_at=old, sync_completed_at=old,
                                    trigger="schedule")
    response = anon.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["lastSync"]["ok"] is False


def test_health_is_503_when_redis_is_down(anon, settings):
    _recent_sync()
    # Overriding CACHES makes Django drop its cache connections (setting_changed); restored afterwards.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = anon.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
