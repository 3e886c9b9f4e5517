"""Trade URLs belong to the system that gave them (issue 12 #1).

System B can neither read nor overwrite the token system A set, B's URL never
reaches A's deliveries, the `user.trade_url_set` event goes to the system that
set it, and a system that has not dealt with a user gets 404.
"""

from __future__ import annotations

import pytest

from assignments.delivery import delivery_run
from assignments.models import Assignment
from audit.models import SystemEvent
from items.models import SteamUser, UserTradeUrl
from items.services import user_set_trade_url
from tests.api.conftest import TRADE_URL, USER, assert_error, assignment_body

pytestmark = pytest.mark.django_db

B_URL = TRADE_URL.replace("token=AbCd1234", "token=ZzZz9999")


def test_system_b_can_neither_read_nor_overwrite_the_url_system_a_set(api, make_client, make_system, make_items):
    shop = make_client(make_system("web_shop"))
    assert api.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL}, format="json").status_code == 200

    # B has not dealt with the user: it cannot see them, nor set a URL over A's.
    assert_error(shop.get(f"/api/users/{USER}"), 404, "not_found")
    assert_error(shop.put(f"/api/users/{USER}", {"tradeUrl": B_URL}, format="json"), 404, "not_found")
    assert list(UserTradeUrl.objects.values_list("external_system", "trade_url")) == [("sourcemod_giveaway", TRADE_URL)]

    # Once B has an assignment for the user, it has its own URL, which A never sees.
    created = shop.post("/api/assignments", assignment_body([make_items(1)[0].id], system="web_shop", tradeUrl=B_URL),
                        format="json")
    assert created.status_code == 201, created.content
    assert shop.get(f"/api/users/{USER}").json()["tradeUrl"] == B_URL
    assert api.get(f"/api/users/{USER}").json()["tradeUrl"] == TRADE_URL
    assert shop.put(f"/api/users/{USER}", {"tradeUrl": TRADE_URL.replace("AbCd1234", "Shop0002")},
                    format="json").json()["tradeUrl"].endswith("token=Shop0002")
    assert api.get(f"/api/users/{USER}").json()["tradeUrl"] == TRADE_URL

    # Each system's event is in its own log only, and none carries a token.
    events = SystemEvent.objects.filter(event_type="user.trade_url_set").order_by("created_at")
    assert [e.external_system for e in events] == ["sourcemod_giveaway", "web_shop", "web_shop"]
    assert not any("token" in str(e.event_data).lower() or "AbCd1234" in str(e.event_data) for e in events)
    a_events = api.get("/api/events?eventType=user.trade_url_set").json()["results"]
    assert len(a_events) == 1


def test_a_user_the_system_has_an_assignment_for_is_visible_without_a_url(api, make_client, make_system,
                                                                        make_items):
    created = api.post("/api/assignments", assignment_body([make_items(1)[0].id]), format="json")
    assert created.status_code == 201
    body = api.get(f"/api/users/{USER}").json()
    assert body["steamId"] == str(USER) and body["tradeUrl"] is None
    assert_error(make_client(make_system("web_shop")).get(f"/api/users/{USER}"), 404, "not_found")


def test_the_operators_url_is_shown_to_no_system(api, make_items):
    user_set_trade_url(steam_id=USER, trade_url=TRADE_URL, actor="ops", source="admin")
    assert SteamUser.objects.get(steam_id=USER).trade_url == TRADE_URL
    assert_error(api.get(f"/api/users/{USER}"), 404, "not_found")
    assert api.post("/api/assignments", assignment_body([make_items(1)[0].id]), format="json").status_code == 201
    assert api.get(f"/api/users/{USER}").json()["tradeUrl"] is None
    assert not SystemEvent.objects.filter(event_type="user.trade_url_set").exclude(external_system=None).exists()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_of_system_a_goes_to_a_url_and_b_cannot_break_it(sandbox, api, make_client, make_system,
                                                                     make_items):
    remote = sandbox.create_user("ignore")
    steam_id = int(remote["steamId"])
    assets = sandbox.add_items(count=2)
    a_item, b_item = make_items(2, steam_class_id=1)
    for item, asset in zip((a_item, b_item), assets):
        item.steam_asset_id, item.steam_class_id = int(asset["assetid"]), int(asset["classid"])
        item.steam_instance_id = int(asset["instanceid"])
        item.save()
    stale = remote["tradeUrl"].replace(f"token={remote['tradeToken']}", "token=Stale000")
    shop = make_client(make_system("web_shop"))

    a = api.post("/api/assignments", assignment_body([a_item.id], user=steam_id, tradeUrl=remote["tradeUrl"]),
                 format="json").json()
    b = shop.post("/api/assignments", assignment_body([b_item.id], system="web_shop", user=steam_id, tradeUrl=stale),
                  format="json").json()

    assert delivery_run(assignment_id=a["id"]).outcome == "sent"
    assert delivery_run(assignment_id=b["id"]).outcome == "trade_url_invalid"  # B's stale token: Steam refuses it
    [offer] = sandbox.offers(partner=steam_id)
    assert offer["itemsToGive"][0]["assetid"] == str(a_item.steam_asset_id)
    assert Assignment.objects.get(id=a["id"]).status == "processing"
