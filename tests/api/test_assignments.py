"""POST/GET /api/assignments, GET /api/assignments/{id}, POST /api/assignments/{id}/cancel."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assignments.models import Assignment, AssignmentItem
from astro.integrations.models import ExternalSystem
from audit.models import SystemEvent
from items.models import Item, SteamUser, UserTradeUrl
from tests.api.conftest import OTHER_USER, TRADE_URL, USER, assert_error, assignment_body

pytestmark = pytest.mark.django_db


def test_create_reserves_every_item_and_snapshots_names_and_values(api, make_items):
    items = make_items(2) + make_items(1, market_value=None, item_name="Mann Co. Key")
    response = api.post("/api/assignments", assignment_body([i.id for i in items]), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["userId"] == str(USER)
    assert body["status"] == "pending"
    assert body["externalSystem"] == "sourcemod_giveaway"
    assert body["externalContext"] == {"giveawayId": "gw_123", "serverName": "Community Server #1"}
    assert body["totalItemsCount"] == 3
    assert body["totalEstimatedValue"] == "24.68"
    assert sorted(i["itemId"] for i in body["items"]) == sorted(str(i.id) for i in items)
    by_id = {i["itemId"]: i for i in body["items"]}
    assert by_id[str(items[2].id)] == {
        "itemId": str(items[2].id), "name": "Mann Co. Key", "value": None, "deliveryStatus": "pending", "deliveredAt": None,
    }
    assert by_id[str(items[0].id)]["value"] == "12.34"

    # A later price change does not touch the snapshot.
    Item.objects.filter(id=items[0].id).update(market_value=Decimal("99.00"), item_name="renamed")
    detail = api.get(f"/api/assignments/{body['id']}").json()
    assert {i["itemId"]: i["value"] for i in detail["items"]}[str(items[0].id)] == "12.34"

    for item in Item.objects.filter(id__in=[i.id for i in items]):
        assert item.status == "reserved" and item.assigned_to_user_id == USER and item.assigned_at is not None
    events = SystemEvent.objects.filter(assignment_id=body["id"])
    assert sorted(events.values_list("event_type", flat=True)) == ["assignment.created"] + ["item.reserved"] * 3
    assert set(events.values_list("external_system", flat=True)) == {"sourcemod_giveaway"}
    assert set(events.values_list("actor", flat=True)) == {"sourcemod_giveaway"}


def test_unknown_user_gets_a_row_and_one_user_created_event(api, make_items):
    items = make_items(2)
    api.post("/api/assignments", assignment_body([items[0].id]), format="json")
    api.post("/api/assignments", assignment_body([items[1].id]), format="json")
    assert SteamUser.objects.filter(steam_id=USER).exists()
    assert SystemEvent.objects.filter(event_type="user.created", user_id=USER).count() == 1


def test_user_id_as_string_is_accepted(api, make_items):
    items = make_items(1)
    response = api.post("/api/assignments", assignment_body([items[0].id], user=str(USER)), format="json")
    assert response.status_code == 201
    assert response.json()["userId"] == str(USER)


def test_trade_url_is_validated_and_stored_on_the_user(api, make_items):
    items = make_items(1)
    response = api.post("/api/assignments", assignment_body([items[0].id], tradeUrl=TRADE_URL), format="json")
    assert response.status_code == 201
    # Stored as this system's URL for the user (issue 12 #1), not on the user row.
    assert UserTradeUrl.objects.get(user_id=USER, external_system=api.system.slug).trade_url == TRADE_URL
    assert SystemEvent.objects.filter(event_type="user.trade_url_set", user_id=USER).count() == 1


@pytest.mark.parametrize("url", [
    "https://steamcommunity.com/tradeoffer/new/?partner=1&token=AbCd1234",  # another account
    "http://steamcommunity.com/tradeoffer/new/?partner=163191061&token=AbCd1234",
    "https://steamcommunity.com.evil.example/tradeoffer/new/?partner=163191061&token=AbCd1234",
    "https://steamcommunity.com/tradeoffer/new/?partner=163191061",
    "https://steamcommunity.com:8443/tradeoffer/new/?partner=163191061&token=AbCd1234",
    "https://steamcommunity.com/tradeoffer/new/?partner=163191061&token=AbCd1234&token=x",
    "https://steamcommunity.com/tradeoffer/new/?partner=abc&token=AbCd1234",
    "https://steamcommunity.com/tradeoffer/new/?partner=163191061&token=<script>",
    "not a url",
])
def test_bad_trade_url_is_refused_and_nothing_is_reserved(api, make_items, url):
    items = make_items(1)
    response = api.post("/api/assignments", assignment_body([items[0].id], tradeUrl=url), format="json")
    assert_error(response, 400, "invalid_trade_url")
    assert Item.objects.get(id=items[0].id).status == "available"
    assert not Assignment.objects.exists()
    assert not SteamUser.objects.exists()


def test_all_or_nothing_lists_each_unavailable_item_and_why(api, make_items):
    free = make_items(1)
    taken = make_items(1)
    api.post("/api/assignments", assignment_body([taken[0].id]), format="json")
    statuses = {s: make_items(1, status=s)[0] for s in ("delivered", "missing", "removed", "quarantined")}
    not_tradable = make_items(1, tradable=False)[0]
    unknown = uuid.uuid4()
    requested = [free[0].id, taken[0].id, *(i.id for i in statuses.values()), not_tradable.id, unknown]

    response = api.post("/api/assignments", assignment_body(requested), format="json")

    error = assert_error(response, 409, "items_unavailable")
    reasons = {entry["itemId"]: entry["reason"] for entry in error["details"]["items"]}
    assert reasons == {
        str(taken[0].id): "reserved",
        **{str(item.id): status for status, item in statuses.items()},
        str(not_tradable.id): "not_tradable",
        str(unknown): "unknown",
    }
    assert Item.objects.get(id=free[0].id).status == "available"  # no partial claim
    assert Assignment.objects.count() == 1
    assert not SystemEvent.objects.filter(event_type="item.reserved", item_id=free[0].id).exists()


def test_items_on_a_trade_hold_are_accepted_and_wait(api, make_items):
    held = make_items(1, tradable=False, tradable_after=timezone.now() + timedelta(days=7))
    response = api.post("/api/assignments", assignment_body([held[0].id]), format="json")
    assert response.status_code == 201
    assert Item.objects.get(id=held[0].id).status == "reserved"


def test_list_shows_only_own_assignments_and_filters(api, make_client, make_system, make_items):
    other = make_client(make_system("discord_bot"))
    items = make_items(4)
    a1 = api.post("/api/assignments", assignment_body([items[0].id]), format="json").json()
    a2 = api.post("/api/assignments", assignment_body([items[1].id], user=OTHER_USER, assignmentType="reward"),
                  format="json").json()
    other.post("/api/assignments", assignment_body([items[2].id], system="discord_bot"), format="json")
    api.post(f"/api/assignments/{a2['id']}/cancel", {}, format="json")

    def ids(query=""):
        response = api.get(f"/api/assignments{query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["results"]]

    assert ids() == [a2["id"], a1["id"]]  # newest first, never discord_bot's
    assert ids("?status=pending") == [a1["id"]]
    assert ids("?status=pending&status=cancelled") == [a2["id"], a1["id"]]
    assert ids(f"?userId={OTHER_USER}") == [a2["id"]]
    assert ids("?assignmentType=giveaway") == [a1["id"]]
    assert ids(f"?createdAfter={(timezone.now() + timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}") == []
    assert_error(api.get("/api/assignments?status=bogus"), 400, "invalid_request")
    assert_error(api.get("/api/assignments?createdAfter=yesterday"), 400, "invalid_request")


def test_cursor_pagination_walks_every_page_once(api, make_items):
    items = make_items(5)
    for item in items:
        api.post("/api/assignments", assignment_body([item.id]), format="json")
    seen, url = [], "/api/assignments?pageSize=2"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 2
        seen += [a["id"] for a in page["results"]]
        url = page["next"]
    assert len(seen) == 5 == len(set(seen))
    assert_error(api.get("/api/assignments?cursor=garbage"), 400, "invalid_cursor")


def test_detail_shows_delivery_fields(api, make_items):
    items = make_items(1)
    # A priority above the system's ceiling would be clamped to it (ExternalSystem.max_priority).
    ExternalSystem.objects.filter(pk=api.system.pk).update(max_priority=10)
    created = api.post("/api/assignments", assignment_body([items[0].id], priority=5, reason="won round 3"),
                       format="json").json()
    body = api.get(f"/api/assignments/{created['id']}").json()
    for field in ("status", "statusReason", "deliveryAttempts", "lastError", "tradeOfferId", "items"):
        assert field in body
    assert body["priority"] == 5 and body["reason"] == "won round 3"
    assert_error(api.get(f"/api/assignments/{uuid.uuid4()}"), 404, "not_found")
    assert_error(api.get("/api/assignments/not-a-uuid"), 400, "invalid_request")


def test_cancel_pending_releases_items_in_one_go(api, make_items):
    items = make_items(2)
    created = api.post("/api/assignments", assignment_body([i.id for i in items]), format="json").json()

    response = api.post(f"/api/assignments/{created['id']}/cancel", {"reason": "giveaway voided"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelledAt"]
    assert {i["deliveryStatus"] for i in body["items"]} == {"cancelled"}
    for item in Item.objects.filter(id__in=[i.id for i in items]):
        assert (item.status, item.assigned_to_user_id) == ("available", None)
    assert not AssignmentItem.objects.filter(assignment_id=created["id"], is_active=True).exists()
    events = SystemEvent.objects.filter(assignment_id=created["id"])
    assert sorted(events.values_list("event_type", flat=True)) == sorted(
        ["assignment.created", "assignment.cancelled"] + ["item.reserved"] * 2 + ["item.released"] * 2
    )
    assert events.get(event_type="assignment.cancelled").event_data["reason"] == "giveaway voided"

    # The items can be assigned again; the cancelled assignment cannot be cancelled again.
    assert api.post("/api/assignments", assignment_body([items[0].id]), format="json").status_code == 201
    error = assert_error(api.post(f"/api/assignments/{created['id']}/cancel"), 409, "assignment_not_cancellable")
    assert error["details"] == {"status": "cancelled"}


@pytest.mark.parametrize("status", ["delivered", "failed"])
def test_finished_assignments_cannot_be_cancelled(api, make_items, status):
    items = make_items(1)
    created = api.post("/api/assignments", assignment_body([items[0].id]), format="json").json()
    Assignment.objects.filter(id=created["id"]).update(status=status)
    error = assert_error(api.post(f"/api/assignments/{created['id']}/cancel"), 409, "assignment_not_cancellable")
    assert error["details"]["status"] == status
    assert_error(api.post(f"/api/assignments/{uuid.uuid4()}/cancel"), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_processing_assignment_when_steam_is_down_changes_nothing(api, make_items, settings):
    # Processing: an offer may be on its way, so the delivery engine must look on Steam first.
    settings.STEAM_MODE = "sandbox"
    settings.STEAM_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens: Steam is unreachable
    items = make_items(1)
    created = api.post("/api/assignments", assignment_body([items[0].id]), format="json").json()
    Assignment.objects.filter(id=created["id"]).update(status="processing", delivery_attempts=1)

    error = assert_error(api.post(f"/api/assignments/{created['id']}/cancel"), 503)
    assert error["code"] in ("steam_unavailable",)
    assert Assignment.objects.get(id=created["id"]).status == "processing"
    assert Item.objects.get(id=items[0].id).status == "reserved"
