"""Parsing real Steam responses (tests/fixtures/steam) into astro.steam.types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from astro.steam import descriptions, parsing
from astro.steam.errors import SteamPermanentError, SteamTransientError
from astro.steam.types import OfferState, TradeStatusCode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "steam"  # real Steam captures (see its README)
EXPECTED_FIXTURES = {
    "inventory_with_properties.json",
    "get_trade_offers.json",
    "get_asset_classinfo.json",
    "classinfo_csgo.json",
    "confirmation.json",
}

def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def test_every_fixture_file_has_a_parsing_test():
    # A new fixture must get a test here, not be silently ignored.
    assert {p.name for p in FIXTURES.glob("*.json")} == EXPECTED_FIXTURES


# ------------------------------------------------------------------ inventory
def test_inventory_page_joins_assets_descriptions_and_properties():
    page = parsing.parse_inventory_page(fixture("inventory_with_properties.json"), app_id=730, context_id=2)

    assert page.more_items is True
    assert page.last_assetid == "46153215276"
    assert page.total_count == 325
    by_id = {item.asset_id: item for item in page.items}
    assert set(by_id) == {46153215277, 46153215276}

    mp7 = by_id[46153215277]
    assert (mp7.app_id, mp7.context_id, mp7.class_id, mp7.instance_id, mp7.amount) == (730, 2, 6918207757, 302028390, 1)
    assert mp7.market_hash_name == "MP7 | Short Ochre (Minimal Wear)"
    assert mp7.name == "MP7 | Short Ochre"
    assert mp7.type == "Consumer Grade SMG"
    assert mp7.rarity == "Consumer Grade"
    assert mp7.tradable is True and mp7.marketable is True
    assert mp7.tradable_after is None
    assert mp7.icon_url.startswith("i0CoZ81Ui0m")
    assert {p["name"]: p for p in mp7.properties}["Wear Rating"]["float_value"] == "0.111641205847263336"
    assert {p["name"]: p for p in mp7.properties}["Pattern Template"]["int_value"] == "116"
    assert mp7.description["classid"] == "6918207757"

    case = by_id[46153215276]
    assert case.market_hash_name == "Dreams & Nightmares Case"
    assert case.properties == []  # no asset_properties entry for this asset


def test_inventory_page_without_assets_key_is_an_empty_page():
    raw = fixture("inventory_with_properties.json")
    empty = {k: v for k, v in raw.items() if k not in ("assets", "descriptions", "asset_properties", "more_items", "last_assetid")}
    empty["total_inventory_count"] = 0

    page = parsing.parse_inventory_page(empty, app_id=730, context_id=2)

    assert page.items == [] and page.more_items is False and page.total_count == 0


def test_inventory_asset_without_description_refuses_the_page():
    raw = fixture("inventory_with_properties.json")
    raw["descriptions"] = raw["descriptions"][:1]
    with pytest.raises(SteamTransientError, match="without its description"):
        parsing.parse_inventory_page(raw, app_id=730, context_id=2)


@pytest.mark.parametrize("payload", [None, {"success": False}, {"success": 1, "assets": "x"}, []])
def test_inventory_page_without_success_is_transient(payload):
    with pytest.raises(SteamTransientError):
        parsing.parse_inventory_page(payload, app_id=730, context_id=2)


@pytest.mark.parametrize(
    ("owner_text", "expected"),
    [
        ("Tradable/Marketable After Jul 23, 2025 (7:00:00) GMT", datetime(2025, 7, 23, 7, 0, 0, tzinfo=UTC)),
        ("Tradable After Nov 5, 2025 (15:30:09) GMT", datetime(2025, 11, 5, 15, 30, 9, tzinfo=UTC)),
        (
            "This item is trade-protected and cannot be consumed, modified, or transferred until "
            "Dec 1, 2025 (8:00:00) GMT",
            datetime(2025, 12, 1, 8, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_tradable_after_from_owner_descriptions(owner_text, expected):
    raw = fixture("inventory_with_properties.json")
    raw["descriptions"][0]["tradable"] = 0
    raw["descriptions"][0]["owner_descriptions"] = [
        {"type": "html", "value": " "},
        {"type": "html", "value": owner_text, "color": "ff4040"},
    ]
    page = parsing.parse_inventory_page(raw, app_id=730, context_id=2)
    item = next(i for i in page.items if i.asset_id == 46153215277)
    assert item.tradable is False
    assert item.tradable_after == expected


# The 2026 texts, exactly as Steam writes them (times are GMT: the gateway sends timezoneOffset=0,0).
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("Tradable/Marketable After 17 Jul @ 3:00am", NOW, datetime(2026, 7, 17, 3, 0, tzinfo=UTC)),
        ("Tradable/Marketable After 17 Jul @ 3:00pm", NOW, datetime(2026, 7, 17, 15, 0, tzinfo=UTC)),
        ("Tradable/Marketable After 1 Jul @ 12:00am", NOW, datetime(2026, 7, 1, 0, 0, tzinfo=UTC)),  # just ended
        ("Tradable/Marketable After 5 Jan @ 7:00am", datetime(2026, 12, 30, 9, 0, tzinfo=UTC),
         datetime(2027, 1, 5, 7, 0, tzinfo=UTC)),  # read in December: next January
        ("Tradable/Marketable After 31 Dec @ 11:30pm", datetime(2026, 12, 30, 9, 0, tzinfo=UTC),
         datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
        ("Tradable/Marketable After Jul 11, 2025 (2:00:00)", NOW, datetime(2025, 7, 11, 2, 0, tzinfo=UTC)),
        ("Tradable/Marketable After Jul 11, 2025 (2:00:00) GMT", NOW, datetime(2025, 7, 11, 2, 0, tzinfo=UTC)),
        ("\nTradable After: Tuesday, June 23, 2026 (7:00:00) GMT", NOW, datetime(2026, 6, 23, 7, 0, tzinfo=UTC)),
        ("This item is trade-protected and cannot be consumed, modified, or transferred until "
         "Jul 23, 2025 (7:00:00) GMT", NOW, datetime(2025, 7, 23, 7, 0, tzinfo=UTC)),
        ("Tradable After [date]1785000000[/date]", NOW, datetime.fromtimestamp(1785000000, tz=UTC)),
        ("Tradable/Marketable After 31 Feb @ 3:00am", NOW, None),
        ("Tradable/Marketable After 17 Jul @ 13:00am", NOW, None),
        ("Exterior: Factory New", NOW, None),
    ],
)
def test_hold_dates_in_every_2026_format(text, now, expected):
    assert descriptions.hold_date_from_text(text, now=now) == expected


def test_the_tf2_hold_date_lives_in_descriptions():
    raw = fixture("inventory_with_properties.json")
    raw["descriptions"][0]["tradable"] = 0
    raw["descriptions"][0]["descriptions"] = [
        {"type": "html", "value": "\nTradable After: Tuesday, June 23, 2026 (7:00:00) GMT", "color": "d83636", "name": "attribute"}]
    item = next(i for i in parsing.parse_inventory_page(raw, app_id=730, context_id=2).items if i.asset_id == 46153215277)
    assert item.tradable_after == datetime(2026, 6, 23, 7, 0, tzinfo=UTC)


def test_tradable_after_from_cache_expiration_when_no_text():
    raw = fixture("inventory_with_properties.json")
    raw["descriptions"][0]["tradable"] = 0
    raw["descriptions"][0]["cache_expiration"] = "2025-07-23T07:00:00Z"
    item = next(i for i in parsing.parse_inventory_page(raw, app_id=730, context_id=2).items if i.asset_id == 46153215277)
    assert item.tradable_after == datetime(2025, 7, 23, 7, 0, tzinfo=UTC)


def test_untradable_without_date_has_no_tradable_after():
    raw = fixture("inventory_with_properties.json")
    raw["descriptions"][0]["tradable"] = 0
    item = next(i for i in parsing.parse_inventory_page(raw, app_id=730, context_id=2).items if i.asset_id == 46153215277)
    assert item.tradable is False and item.tradable_after is None


# ------------------------------------------------------------------ classinfo
def test_classinfo_description_normalizes_to_the_inventory_shape():
    description = descriptions.normalize_description(fixture("classinfo_csgo.json"))

    assert description["tradable"] == 1 and description["marketable"] == 1 and description["commodity"] == 0
    assert description["descriptions"][0]["value"] == "Exterior: Factory New"
    assert isinstance(description["tags"], list)
    assert descriptions.rarity_of(description) == "Covert"
    assert description["owner_descriptions"] == []
    assert descriptions.tradable_after_of(description) is None


def test_get_asset_classinfo_keyed_by_class_and_instance():
    classes = descriptions.parse_asset_classinfo(fixture("get_asset_classinfo.json"))

    key = ("101785959", "11040578")
    assert key in classes
    key_item = classes[key]
    assert key_item["market_hash_name"] == "Mann Co. Supply Crate Key"
    assert key_item["commodity"] == 1
    assert [t["localized_tag_name"] for t in key_item["tags"]][:2] == ["Unique", "Tool"]
    assert descriptions.rarity_of(key_item) is None  # TF2 has no Rarity tag on keys


# --------------------------------------------------------------- trade offers
def test_get_trade_offers_sent_and_received():
    page = parsing.parse_trade_offers(fixture("get_trade_offers.json"))

    assert len(page.sent) == 21 and len(page.received) == 4
    assert page.next_cursor == 0
    assert all(o.is_our_offer for o in page.sent)
    assert not any(o.is_our_offer for o in page.received)
    states = {o.state for o in page.sent + page.received}
    assert states == {OfferState.ACCEPTED, OfferState.CANCELED, OfferState.DECLINED}

    first = page.sent[0]
    assert first.offer_id == "4990667216"
    assert first.partner_steam_id == 76561198080179568  # accountid_other 119913840
    assert first.message == "give me that key"
    assert first.state is OfferState.DECLINED
    assert first.created_at == datetime.fromtimestamp(1641951429, tz=UTC)
    assert first.expires_at == datetime.fromtimestamp(1643161029, tz=UTC)
    assert first.escrow_end_at is None
    assert first.items_to_give == []
    (asset,) = first.items_to_receive
    assert (asset.app_id, asset.context_id, asset.asset_id, asset.class_id, asset.instance_id) == (
        440, 2, 11145843479, 101785959, 11040578)
    assert asset.missing is True

    accepted = [o for o in page.sent + page.received if o.state is OfferState.ACCEPTED]
    assert accepted and all(o.trade_id for o in accepted)
    assert all(o.trade_id is None for o in page.sent + page.received if o.state is not OfferState.ACCEPTED)


def test_get_trade_offer_single_and_unknown():
    offer_raw = fixture("get_trade_offers.json")["response"]["trade_offers_sent"][0]
    offer = parsing.parse_get_trade_offer({"response": {"offer": offer_raw, "descriptions": []}})
    assert offer.offer_id == "4990667216"
    assert parsing.parse_get_trade_offer({"response": {}}) is None


def test_state_12_reverted_parses():
    offer_raw = dict(fixture("get_trade_offers.json")["response"]["trade_offers_sent"][0], trade_offer_state=12)
    assert parsing.parse_trade_offer(offer_raw).state is OfferState.REVERTED


def test_an_unknown_offer_state_is_kept_as_unknown_not_raised(caplog):
    # Behaviour changed on purpose: one odd offer used to raise and block every listing.
    sent = fixture("get_trade_offers.json")["response"]["trade_offers_sent"]
    odd = dict(sent[0], trade_offer_state=99)
    page = parsing.parse_trade_offers({"response": {"trade_offers_sent": [odd, sent[1]]}})
    assert [o.state for o in page.sent] == [OfferState.UNKNOWN, parsing.parse_offer_state(sent[1]["trade_offer_state"])]
    assert page.sent[0].raw_state == 99 and page.sent[1].raw_state == sent[1]["trade_offer_state"]
    assert OfferState.UNKNOWN == -1
    assert parsing.parse_offer_state(None) is OfferState.UNKNOWN
    assert parsing.parse_offer_state("-1") is OfferState.UNKNOWN  # Astro's own marker is never Steam's
    assert "unknown trade offer state 99" in caplog.text


def test_listed_assets_with_id_zero_are_kept_as_zero():
    sent = fixture("get_trade_offers.json")["response"]["trade_offers_sent"][0]
    glitched = dict(sent, items_to_give=[
        {"appid": 730, "contextid": "0", "assetid": "0", "classid": "310776560", "instanceid": "302028390", "amount": "1"},
        {"appid": 730, "classid": "310776560", "instanceid": "302028390", "amount": "1"},
    ])
    offer = parsing.parse_trade_offer(glitched)
    assert [(a.context_id, a.asset_id, a.class_id, a.instance_id) for a in offer.items_to_give] == [
        (0, 0, 310776560, 302028390), (0, 0, 310776560, 302028390)]
    assert offer.is_glitched
    assert not parsing.parse_trade_offer(fixture("get_trade_offers.json")["response"]["trade_offers_received"][0]).is_glitched
    assert parsing.parse_trade_offer(dict(sent, items_to_give=[], items_to_receive=[])).is_glitched


# ------------------------------------------------------------- confirmations
def test_confirmation_entry():
    (entry,) = parsing.parse_confirmation_list({"success": True, "conf": [fixture("confirmation.json")]})
    assert entry.id == "13799599785"
    assert entry.nonce == "9141945700999917347"
    assert entry.type == 2
    assert entry.creator_id == "6149531996"


def test_confirmation_list_needauth_and_message():
    with pytest.raises(parsing.ConfirmationListError) as needauth:
        parsing.parse_confirmation_list({"success": False, "needauth": True})
    assert needauth.value.needauth is True
    with pytest.raises(parsing.ConfirmationListError, match="Oops") as other:
        parsing.parse_confirmation_list({"success": False, "message": "Oops", "detail": "try later"})
    assert other.value.needauth is False
    assert parsing.parse_confirmation_list({"success": True, "conf": []}) == []


# --------------------------------------------------------------------- trades
TRADE_STATUS = {  # a real GetTradeStatus answer: CS2 items received in context 16, moved to 2
    "response": {"trades": [{
        "tradeid": "798942565122442387", "steamid_other": "76561198046968201", "time_init": 1752644003, "status": 3,
        "assets_received": [{"appid": 730, "contextid": "16", "assetid": "45177073411", "amount": "1",
                             "classid": "1989294059", "instanceid": "1363818010",
                             "new_assetid": "45177506171", "new_contextid": "2"}],
        "rollback_trade": "815831063713552678"}]}
}


def test_trade_status_maps_assets_to_new_ids():
    trade = parsing.parse_trade_status(TRADE_STATUS, "798942565122442387")
    assert trade.status is TradeStatusCode.COMPLETE
    assert trade.partner_steam_id == 76561198046968201
    (asset,) = trade.assets_received
    assert (asset.context_id, asset.asset_id, asset.new_asset_id, asset.new_context_id) == (16, 45177073411, 45177506171, 2)
    assert trade.rollback_trade_id == "815831063713552678"
    assert trade.assets_given == []


def test_trade_status_of_another_trade_is_not_attributed():
    assert parsing.parse_trade_status(TRADE_STATUS, "1") is None
    assert parsing.parse_trade_status({"response": {}}, "1") is None


def test_trade_status_assets_not_yet_transferred():
    raw = json.loads(json.dumps(TRADE_STATUS))
    del raw["response"]["trades"][0]["assets_received"][0]["new_assetid"]
    del raw["response"]["trades"][0]["assets_received"][0]["new_contextid"]
    raw["response"]["trades"][0]["status"] = 12
    trade = parsing.parse_trade_status(raw, "798942565122442387")
    assert trade.status is TradeStatusCode.TRADE_PROTECTION_ROLLBACK
    assert trade.assets_received[0].new_asset_id is None


def test_an_unknown_trade_status_is_kept_as_unknown_not_raised(caplog):
    raw = json.loads(json.dumps(TRADE_STATUS))
    raw["response"]["trades"][0]["status"] = 13
    trade = parsing.parse_trade_status(raw, "798942565122442387")
    assert trade.status is TradeStatusCode.UNKNOWN and trade.raw_status == 13
    assert "unknown trade status 13" in caplog.text
    assert parsing.parse_trade_status(TRADE_STATUS, "798942565122442387").raw_status == 3


def test_every_documented_trade_status():
    names = ["INIT", "PRE_COMMITTED", "COMMITTED", "COMPLETE", "FAILED", "PARTIAL_SUPPORT_ROLLBACK",
             "FULL_SUPPORT_ROLLBACK", "SUPPORT_ROLLBACK_SELECTIVE", "ROLLBACK_FAILED", "ROLLBACK_ABANDONED",
             "IN_ESCROW", "ESCROW_ROLLBACK", "TRADE_PROTECTION_ROLLBACK"]
    assert [parsing.parse_trade_status_code(n).name for n in range(13)] == names


def test_trade_history_page():
    page = parsing.parse_trade_history({"response": {"total_trades": 412, "more": True, "trades": TRADE_STATUS["response"]["trades"]}})
    assert page.more is True and [t.trade_id for t in page.trades] == ["798942565122442387"]


# -------------------------------------------------------------------- players
def test_player_summaries():
    players = parsing.parse_player_summaries({"response": {"players": [{  # as Steam answers it
        "steamid": "76561198155110999", "communityvisibilitystate": 3, "profilestate": 1,
        "personaname": "engineer trading", "profileurl": "https://steamcommunity.com/profiles/76561198155110999/",
        "avatar": "https://avatars.steamstatic.com/x.jpg", "avatarfull": "https://avatars.steamstatic.com/x_full.jpg",
        "timecreated": 1411000000, "loccountrycode": "US"}]}})
    (player,) = players
    assert player.steam_id == 76561198155110999
    assert player.display_name == "engineer trading"
    assert player.avatar_url.endswith("_full.jpg")
    assert player.country_code == "US"
    assert player.account_created_at == datetime.fromtimestamp(1411000000, tz=UTC)
    assert player.visibility == 3
    assert parsing.parse_player_summaries({"response": {"players": []}}) == []


# --------------------------------------------------------------------- market
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$11.30", Decimal("11.30")),
        ("$11.30 USD", Decimal("11.30")),
        ("$1,234.56", Decimal("1234.56")),
        ("11,30€", Decimal("11.30")),
        ("1.234,56€", Decimal("1234.56")),
        ("1 234,56 pуб.", Decimal("1234.56")),
        ("£0.03", Decimal("0.03")),
        ("¥ 1,234", Decimal("1234")),
        ("--", None),
        (None, None),
    ],
)
def test_parse_price(text, expected):
    assert parsing.parse_price(text) == expected


def test_market_price():
    price = parsing.parse_market_price(
        {"success": True, "lowest_price": "$11.30", "volume": "1,234", "median_price": "$11.33"}, currency=1)
    assert price.lowest_price == Decimal("11.30")
    assert price.median_price == Decimal("11.33")
    assert price.volume == 1234
    assert price.currency == 1
    assert parsing.parse_market_price({"success": True}, currency=1).lowest_price is None
    assert parsing.parse_market_price({"success": False}, currency=1) is None


# ----------------------------------------------------------------- trade URLs
def test_trade_url_parsing():
    url = parsing.parse_trade_url("https://steamcommunity.com/tradeoffer/new/?partner=194845271&token=AbC-_12x")
    assert url.account_id == 194845271
    assert url.steam_id == 76561198155110999
    assert url.token == "AbC-_12x"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "http://steamcommunity.com/tradeoffer/new/?partner=1&token=abc",
        "https://steamcommunity.com.evil.example/tradeoffer/new/?partner=1&token=abc",
        "https://steamcommunity.com/tradeoffer/new/?partner=1",
        "https://steamcommunity.com/tradeoffer/new/?partner=abc&token=abc",
        "https://steamcommunity.com/tradeoffer/new/?partner=1&partner=2&token=abc",
        "https://steamcommunity.com/tradeoffer/new/?partner=1&token=a%20b",
        "https://steamcommunity.com/id/someone/tradeoffers/?partner=1&token=abc",
        "https://steamcommunity.com/tradeoffer/new/?partner=0&token=abc",
        # A Unicode digit: str.isdigit() accepts it, int() does not (issue 12 #15).
        "https://steamcommunity.com/tradeoffer/new/?partner=%C2%B2&token=abc",
    ],
)
def test_bad_trade_urls_are_permanent_errors(bad):
    with pytest.raises(SteamPermanentError) as exc:
        parsing.parse_trade_url(bad)
    assert exc.value.code == "invalid_trade_url"


def test_page_helpers():
    page = '<div id="error_msg">\n\tThis Trade URL is no longer valid for sending a trade offer to engineer trading.\n</div>'
    assert parsing.page_error_message(page) == "This Trade URL is no longer valid for sending a trade offer to engineer trading."
    assert parsing.page_error_message("<html></html>") is None
    assert parsing.is_logged_out_page('g_sessionID = "x";\n\tg_steamID = false;')
    assert not parsing.is_logged_out_page('g_steamID = "76561198080179568";')


def _page(assetid: str, name: str, tradable: int) -> dict:
    return {
        "success": 1,
        "assets": [{"appid": 730, "contextid": "2", "assetid": assetid, "classid": "1", "instanceid": "0", "amount": "1"}],
        "descriptions": [{"appid": 730, "classid": "1", "instanceid": "0", "name": name,
                          "market_hash_name": name, "tradable": tradable, "marketable": 1}],
    }


def test_the_per_fetch_description_cache_never_hides_a_changed_description():
    """Pages of one fetch share normalised descriptions; a later page whose description
    under the same (classid, instanceid) differs must be parsed from what it says."""
    cache: dict = {}
    first = parsing.parse_inventory_page(_page("10", "Old Name", 1), app_id=730, context_id=2, descriptions=cache)
    second = parsing.parse_inventory_page(_page("11", "New Name", 0), app_id=730, context_id=2, descriptions=cache)
    alone = parsing.parse_inventory_page(_page("11", "New Name", 0), app_id=730, context_id=2)
    assert (first.items[0].name, first.items[0].tradable) == ("Old Name", True)
    assert (second.items[0].name, second.items[0].tradable) == ("New Name", False)
    assert second.items == alone.items
