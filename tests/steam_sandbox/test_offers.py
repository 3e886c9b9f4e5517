"""Trade offers in the sandbox: sending, mobile confirmation, every state transition
and user behaviour, asset-id mapping, deposits, and the Web API views of it all —
driven by steampy itself over HTTP."""

from __future__ import annotations

import pytest
from steampy.confirmation import ConfirmationExecutor, Tag
from steampy.exceptions import InvalidCredentials
from steampy.models import Asset, GameOptions

from tests.support.sandbox import SandboxError

BOT = 76561198080179568
ECON = "https://api.steampowered.com/IEconService"


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def send(steam, user, asset_ids, *, message="astro:test", confirm=True, game=GameOptions.CS):
    return steam.make_offer_with_url(
        [Asset(a, game) for a in asset_ids], [], user["tradeUrl"], message=message, confirm_trade=confirm
    )


def econ(steam, method, **params):
    if "key" not in params:
        params.setdefault("access_token", steam._access_token)
    return steam._session.get(f"{ECON}/{method}/v1", params=params)


def offer(steam, offer_id):
    return econ(steam, "GetTradeOffer", tradeofferid=offer_id).json()["response"]["offer"]


def stock(sandbox, count=1, **kw):
    return [a["assetid"] for a in sandbox.add_items(count=count, **kw)]


def clock(sandbox):
    return sandbox.call("GET", "/sandbox/clock")["now"]


# ---------------------------------------------------------------- sending & confirming
def test_a_sent_offer_waits_for_mobile_confirmation_then_is_active(sandbox, steam):
    user = sandbox.create_user("ignore")
    assets = stock(sandbox, 2)

    sent = send(steam, user, assets, confirm=False)

    assert sent["needs_mobile_confirmation"] is True
    offer_id = sent["tradeofferid"]
    assert (offer(steam, offer_id)["trade_offer_state"], offer(steam, offer_id)["confirmation_method"]) == (9, 2)
    executor = ConfirmationExecutor(sandbox.bot.identity_secret, str(BOT), steam._session)
    [confirmation] = executor._get_confirmations()
    details = executor._fetch_confirmation_details_page(confirmation)
    assert f'id="tradeofferid_{offer_id}"' in details

    assert executor.send_trade_allow_request(offer_id) == {"success": True}

    seen = offer(steam, offer_id)
    assert seen["trade_offer_state"] == 2 and seen["message"] == "astro:test"
    assert {i["assetid"] for i in seen["items_to_give"]} == set(assets)
    assert sandbox.confirmations() == []


def test_steampys_send_confirms_by_itself(sandbox, steam):
    user = sandbox.create_user("ignore")

    sent = send(steam, user, stock(sandbox))

    assert sent["success"] is True
    assert sandbox.offer(sent["tradeofferid"])["state"] == 2


def test_a_wrong_identity_secret_is_an_invalid_authenticator(sandbox, steam):
    user = sandbox.create_user("ignore")
    offer_id = send(steam, user, stock(sandbox), confirm=False)["tradeofferid"]
    wrong = ConfirmationExecutor("d3JvbmctaWRlbnRpdHktc2VjcmV0LTAwMDA=", str(BOT), steam._session)

    with pytest.raises(InvalidCredentials):
        wrong.send_trade_allow_request(offer_id)

    right = ConfirmationExecutor(sandbox.bot.identity_secret, str(BOT), steam._session)
    [confirmation] = right._get_confirmations()
    params = right._create_confirmation_params("allow")
    params.update(op="allow", cid=confirmation.data_confid, ck=confirmation.nonce, p="android:not-our-device")
    resp = steam._session.get("https://steamcommunity.com/mobileconf/ajaxop", params=params).json()
    assert resp["success"] is False and "providing incorrect Steam Guard codes" in resp["detail"]
    assert sandbox.offer(offer_id)["state"] == 9


def test_cancelling_on_the_phone_is_canceled_by_second_factor(sandbox, steam):
    user = sandbox.create_user("ignore")
    offer_id = send(steam, user, stock(sandbox), confirm=False)["tradeofferid"]
    executor = ConfirmationExecutor(sandbox.bot.identity_secret, str(BOT), steam._session)
    [confirmation] = executor._get_confirmations()
    params = executor._create_confirmation_params(Tag.CANCEL.value)
    params.update(op="cancel", cid=confirmation.data_confid, ck=confirmation.nonce)

    assert steam._session.get("https://steamcommunity.com/mobileconf/ajaxop", params=params).json() == {"success": True}

    assert offer(steam, offer_id)["trade_offer_state"] == 10


def test_refused_sends_answer_500_with_steams_error_text(sandbox, steam):
    user = sandbox.create_user("ignore")
    banned = sandbox.create_user("ignore", tradeBanned=True, persona_name="cheater")
    [asset] = stock(sandbox)
    [held] = [a["assetid"] for a in sandbox.add_items(items=[{"marketHashName": "Recoil Case", "tradable": False}])]
    wrong_token = dict(user, tradeUrl=user["tradeUrl"].replace(user["tradeToken"], "WrongT0k"))

    cases = [
        (send(steam, wrong_token, [asset]), "(15)"),
        (send(steam, user, ["999"]), "(26)"),
        (send(steam, user, [held]), "(26)"),
        (send(steam, banned, [asset]), "because they have a trade ban. (15)"),
        (send(steam, user, []), "(8)"),
    ]

    for answer, ending in cases:
        assert answer["strError"].startswith("There was an error sending your trade offer.  Please try again later.")
        assert answer["strError"].endswith(ending), answer
    raw = steam._session.post("https://steamcommunity.com/tradeoffer/new/send", data={
        "sessionid": steam._get_session_id(), "partner": user["steamId"], "json_tradeoffer": "not json",
    })
    assert raw.status_code == 500 and raw.json()["strError"].endswith("(8)")
    assert sandbox.offers() == []


def test_sends_can_require_the_trade_protection_acknowledgement(sandbox, steam):
    # Steam 2026 shows the missing acknowledgement as failed confirmations
    # (tests/steam_sandbox/test_steam2026_trade.py); with the switch, as a plain (15)
    # on the send, with no text that names it.
    sandbox.set_config(tradeAcknowledgementSymptom="send")
    sandbox.set_trade_protection_acknowledged(False)  # the test client acknowledged after logging in
    user = sandbox.create_user("ignore")
    asset = stock(sandbox)

    assert send(steam, user, asset)["strError"] == "There was an error sending your trade offer.  Please try again later. (15)"
    ack = steam._session.post("https://steamcommunity.com/trade/new/acknowledge",
                              data={"sessionid": steam._get_session_id(), "message": 1})
    assert ack.status_code == 200 and sandbox.state()["bot"]["tradeProtectionAcknowledged"]
    assert send(steam, user, asset)["success"] is True


# ---------------------------------------------------------------- behaviours and transitions
def test_an_accepting_user_takes_the_items_under_new_asset_ids(sandbox, steam):
    user = sandbox.create_user("accept", delay_seconds=60)
    assets = stock(sandbox, 2)
    offer_id = send(steam, user, assets)["tradeofferid"]

    sandbox.advance_clock(59)
    assert offer(steam, offer_id)["trade_offer_state"] == 2
    sandbox.advance_clock(2)

    accepted = offer(steam, offer_id)
    assert accepted["trade_offer_state"] == 3 and accepted["tradeid"]
    assert not set(assets) & set(sandbox.asset_ids())
    status = econ(steam, "GetTradeStatus", tradeid=accepted["tradeid"], get_descriptions=1).json()["response"]
    [trade] = status["trades"]
    assert (trade["tradeid"], trade["steamid_other"], trade["status"]) == (accepted["tradeid"], user["steamId"], 3)
    mapping = {a["assetid"]: a["new_assetid"] for a in trade["assets_given"]}
    assert set(mapping) == set(assets)
    assert set(mapping.values()) == set(sandbox.asset_ids(account=user["steamId"]))
    assert all(a["new_contextid"] == "2" for a in trade["assets_given"])
    assert len(status["descriptions"]) >= 1
    history = econ(steam, "GetTradeHistory", max_trades=100, get_descriptions="True", navigating_back="True",
                   include_failed="True", include_total="True").json()["response"]
    assert history["total_trades"] == 1 and history["trades"][0]["tradeid"] == accepted["tradeid"]


def test_a_declining_user_leaves_the_items_with_the_bot(sandbox, steam):
    user = sandbox.create_user("decline")
    assets = stock(sandbox)
    offer_id = send(steam, user, assets)["tradeofferid"]

    assert offer(steam, offer_id)["trade_offer_state"] == 7
    assert sandbox.asset_ids() == assets


def test_ignored_and_unconfirmed_offers_expire(sandbox, steam):
    sandbox.set_config(offerLifetimeSeconds=3600)
    user = sandbox.create_user("ignore")
    active = send(steam, user, stock(sandbox))["tradeofferid"]
    unconfirmed = send(steam, user, stock(sandbox), confirm=False)["tradeofferid"]
    expires = offer(steam, active)["expiration_time"]
    assert expires - offer(steam, active)["time_created"] == 3600

    sandbox.advance_clock(3601)

    assert [offer(steam, o)["trade_offer_state"] for o in (active, unconfirmed)] == [5, 5]
    assert sandbox.confirmations() == []


def test_a_countering_user_sends_a_new_offer_the_bot_can_accept(sandbox, steam):
    user = sandbox.create_user("counter")
    assets = stock(sandbox)
    offer_id = send(steam, user, assets)["tradeofferid"]

    assert offer(steam, offer_id)["trade_offer_state"] == 4
    counter_id = sandbox.offer(offer_id)["counterOfferId"]
    received = econ(steam, "GetTradeOffers", get_received_offers=1, get_sent_offers=0, active_only=1).json()["response"]
    [counter] = received["trade_offers_received"]
    assert (counter["tradeofferid"], counter["trade_offer_state"], counter["is_our_offer"]) == (counter_id, 2, False)

    # steampy's accept flow: the offer page for the partner, the accept POST, then
    # a mobile confirmation because the bot gives items.
    steam.accept_trade_offer(counter_id)

    assert offer(steam, counter_id)["trade_offer_state"] == 3
    assert not set(assets) & set(sandbox.asset_ids())


def test_an_escrow_user_gets_the_items_after_the_hold(sandbox, steam):
    user = sandbox.create_user("escrow", escrowDays=3)
    assets = stock(sandbox)
    assert steam.get_escrow_duration(user["tradeUrl"]) == 3
    holds = econ(steam, "GetTradeHoldDurations", steamid_target=user["steamId"],
                 trade_offer_access_token=user["tradeToken"]).json()["response"]
    assert holds["their_escrow"]["escrow_end_duration_seconds"] == 3 * 86400
    offer_id = send(steam, user, assets)["tradeofferid"]

    held = offer(steam, offer_id)
    assert held["trade_offer_state"] == 11 and held["escrow_end_date"] >= clock(sandbox) + 3 * 86400 - 5
    assert sandbox.asset_ids() == [] and sandbox.asset_ids(account=user["steamId"]) == []
    trade = econ(steam, "GetTradeStatus", tradeid=held["tradeid"]).json()["response"]["trades"][0]
    assert trade["status"] == 10 and "new_assetid" not in trade["assets_given"][0]

    sandbox.advance_clock(3 * 86400 + 1)

    steam.login()  # three days on, on the sandbox clock: the day-long access token has expired
    assert offer(steam, offer_id)["trade_offer_state"] == 3
    trade = econ(steam, "GetTradeStatus", tradeid=held["tradeid"]).json()["response"]["trades"][0]
    assert trade["status"] == 3
    assert [trade["assets_given"][0]["new_assetid"]] == sandbox.asset_ids(account=user["steamId"])


def test_the_bot_cancels_its_offer_once(sandbox, steam):
    user = sandbox.create_user("ignore")
    offer_id = send(steam, user, stock(sandbox))["tradeofferid"]

    assert steam.cancel_trade_offer(offer_id) == {"tradeofferid": offer_id}
    assert offer(steam, offer_id)["trade_offer_state"] == 6
    again = steam.cancel_trade_offer(offer_id)
    assert again["strError"].endswith("(11)")


def test_an_offer_whose_item_left_becomes_invalid_items(sandbox, steam):
    user = sandbox.create_user("ignore")
    first_asset, second_asset = stock(sandbox, 2)
    first = send(steam, user, [first_asset])["tradeofferid"]
    same_item = send(steam, user, [first_asset])["tradeofferid"]
    other = send(steam, user, [second_asset], confirm=False)["tradeofferid"]

    sandbox.act_on_offer(first, "accept")
    sandbox.remove_assets([second_asset])

    for offer_id in (same_item, other):
        gone = offer(steam, offer_id)
        assert gone["trade_offer_state"] == 8 and gone["items_to_give"][0]["missing"] is True
    assert offer(steam, first)["trade_offer_state"] == 3


def test_a_reverted_trade_brings_the_items_back_under_new_ids(sandbox, steam):
    user = sandbox.create_user("accept")
    [asset] = stock(sandbox)
    offer_id = send(steam, user, [asset])["tradeofferid"]
    trade_id = offer(steam, offer_id)["tradeid"]

    rollback_id = sandbox.act_on_offer(offer_id, "revert")["rollbackTradeId"]

    assert offer(steam, offer_id)["trade_offer_state"] == 12
    original = econ(steam, "GetTradeStatus", tradeid=trade_id).json()["response"]["trades"][0]
    assert (original["status"], original["rollback_trade"]) == (12, rollback_id)
    [back] = econ(steam, "GetTradeStatus", tradeid=rollback_id).json()["response"]["trades"][0]["assets_received"]
    assert back["assetid"] == original["assets_given"][0]["new_assetid"]
    assert sandbox.asset_ids() == [back["new_assetid"]] and back["new_assetid"] != asset
    assert sandbox.asset_ids(account=user["steamId"]) == []


def test_offers_driven_by_hand_through_the_control_api(sandbox, steam):
    user = sandbox.create_user("ignore")
    ids = [send(steam, user, stock(sandbox), confirm=False)["tradeofferid"] for _ in range(3)]

    sandbox.act_on_offer(ids[0], "confirm")
    sandbox.act_on_offer(ids[0], "decline")
    sandbox.act_on_offer(ids[1], "expire")
    with pytest.raises(SandboxError) as refused:
        sandbox.act_on_offer(ids[2], "accept")  # still needs its confirmation

    assert refused.value.status == 409 and refused.value.code == "invalid_state"
    assert [sandbox.offer(i)["state"] for i in ids] == [7, 5, 9]
    assert [o["id"] for o in sandbox.offers(state=9)] == [ids[2]]


# ---------------------------------------------------------------- deposits
def test_a_deposit_of_fresh_items_arrives_under_new_ids_with_a_trade(sandbox, steam):
    user = sandbox.create_user()

    deposit = sandbox.deposit(user["steamId"], count=2)

    new_ids = [a["newAssetId"] for a in deposit["assets"]]
    # Received CS2 items wait out trade protection in context 16 (Steam since July 2025).
    assert set(new_ids) == set(sandbox.asset_ids(contextid=16))
    [trade] = econ(steam, "GetTradeStatus", tradeid=deposit["tradeId"]).json()["response"]["trades"]
    assert trade["steamid_other"] == user["steamId"] and "assets_given" not in trade
    assert {(a["assetid"], a["new_assetid"]) for a in trade["assets_received"]} == {
        (a["assetid"], a["newAssetId"]) for a in deposit["assets"]
    }
    deposited = offer(steam, deposit["offerId"])
    assert (deposited["trade_offer_state"], deposited["is_our_offer"], deposited["tradeid"]) == (3, False, deposit["tradeId"])


def test_a_deposit_of_the_users_own_items_moves_them(sandbox):
    user = sandbox.create_user()
    owned = [a["assetid"] for a in sandbox.add_items(account=user["steamId"], count=3)]

    deposit = sandbox.deposit(user["steamId"], assets=[{"assetid": owned[0]}])

    assert sorted(sandbox.asset_ids(account=user["steamId"])) == sorted(owned[1:])
    assert sandbox.asset_ids(contextid=16) == [deposit["assets"][0]["newAssetId"]]  # trade-protected, see above


def test_a_pending_deposit_is_accepted_by_the_bot_without_confirmation(sandbox, steam):
    user = sandbox.create_user()
    deposit = sandbox.deposit(user["steamId"], count=1, autoAccept=False)
    assert offer(steam, deposit["offerId"])["trade_offer_state"] == 2

    answer = steam.accept_trade_offer(deposit["offerId"])

    assert answer["tradeid"] == offer(steam, deposit["offerId"])["tradeid"]
    assert len(sandbox.asset_ids(contextid=16)) == 1  # trade-protected, see above


def test_a_trade_protected_deposit_waits_in_context_16(sandbox, steam):
    user = sandbox.create_user()

    deposit = sandbox.deposit(user["steamId"], count=1, tradeProtected=True)

    [asset] = deposit["assets"]
    assert asset["newContextId"] == "16"
    [protected] = sandbox.inventory(contextid=16)["assets"]
    assert protected["assetid"] == asset["newAssetId"] and protected["tradable"] is False
    page = steam._session.get(f"https://steamcommunity.com/inventory/{BOT}/730/16", params={"count": 100}).json()
    # 2026: the protected item says when it becomes tradable, as any hold does, and is sealed.
    [description] = page["descriptions"]
    assert description["owner_descriptions"][1]["value"].startswith("Tradable/Marketable After ")
    assert (description["sealed"], description["sealed_type"]) == (1, 0)

    sandbox.advance_clock(7 * 86400 + 1)

    assert sandbox.asset_ids(contextid=16) == []
    [moved] = sandbox.inventory(contextid=2)["assets"]
    assert (moved["assetid"], moved["tradable"]) == (asset["newAssetId"], True)


# ---------------------------------------------------------------- Web API views
def test_get_trade_offers_active_historical_cutoff_and_paging(sandbox, steam):
    ignorer, decliner = sandbox.create_user("ignore"), sandbox.create_user("decline")
    active = send(steam, ignorer, stock(sandbox))["tradeofferid"]
    unconfirmed = send(steam, ignorer, stock(sandbox), confirm=False)["tradeofferid"]
    before_decline = clock(sandbox)
    sandbox.advance_clock(10)
    declined = send(steam, decliner, stock(sandbox))["tradeofferid"]

    def sent(**params):
        body = econ(steam, "GetTradeOffers", get_sent_offers=1, get_received_offers=0, **params).json()["response"]
        return {o["tradeofferid"] for o in body.get("trade_offers_sent", [])}

    assert sent(active_only=1, historical_only=0, time_historical_cutoff="") == {active, unconfirmed}
    assert sent(active_only=1, time_historical_cutoff=before_decline + 5) == {active, unconfirmed, declined}
    assert sent(historical_only=1) == {declined}
    assert sent() == {active, unconfirmed, declined}

    sandbox.set_config(tradeOffersPageSize=1)
    seen, cursor, pages = set(), 0, 0
    while True:
        body = econ(steam, "GetTradeOffers", get_sent_offers=1, cursor=cursor).json()["response"]
        seen |= {o["tradeofferid"] for o in body["trade_offers_sent"]}
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert (seen, pages) == ({active, unconfirmed, declined}, 3)

    # steampy's own call keeps only state 2 (client side).
    sandbox.set_config(tradeOffersPageSize=100)
    listed = steam.get_trade_offers(use_webtoken=True)["response"]["trade_offers_sent"]
    assert [o["tradeofferid"] for o in listed] == [active]


def test_descriptions_in_offers_use_booleans(sandbox, steam):
    user = sandbox.create_user("ignore")
    send(steam, user, stock(sandbox))

    body = econ(steam, "GetTradeOffers", get_sent_offers=1, get_descriptions=1).json()["response"]

    [description] = body["descriptions"]
    assert all(description[k] in (True, False) for k in ("tradable", "marketable", "commodity", "currency"))


def test_a_web_api_key_does_not_see_cs2_offers(sandbox, steam):
    user = sandbox.create_user("ignore")
    cs2 = send(steam, user, stock(sandbox))["tradeofferid"]
    tf2 = send(steam, user, stock(sandbox, appid=440), game=GameOptions.TF2)["tradeofferid"]
    key = sandbox.bot.api_key

    body = econ(steam, "GetTradeOffers", key=key, get_sent_offers=1, active_only=1).json()["response"]
    assert [o["tradeofferid"] for o in body["trade_offers_sent"]] == [tf2]
    assert econ(steam, "GetTradeOffer", key=key, tradeofferid=cs2).json() == {"response": {}}
    bad = econ(steam, "GetTradeOffers", key="0" * 32, get_sent_offers=1)
    assert bad.status_code == 403 and "Please verify your <pre>key=</pre> parameter" in bad.text


def test_trade_offers_summary_counts(sandbox, steam):
    ignorer, decliner = sandbox.create_user("ignore"), sandbox.create_user("decline")
    send(steam, ignorer, stock(sandbox))
    send(steam, decliner, stock(sandbox))
    sandbox.deposit(ignorer["steamId"], count=1, autoAccept=False)

    counts = econ(steam, "GetTradeOffersSummary", key=sandbox.bot.api_key).json()["response"]

    assert (counts["pending_sent_count"], counts["historical_sent_count"], counts["pending_received_count"]) == (1, 1, 1)


def test_trade_history_pages_backwards_in_time(sandbox, steam):
    user = sandbox.create_user()
    trades = []
    for _ in range(3):
        trades.append(sandbox.deposit(user["steamId"], count=1)["tradeId"])
        sandbox.advance_clock(60)

    first = econ(steam, "GetTradeHistory", max_trades=2, include_total=1).json()["response"]
    last = first["trades"][-1]
    rest = econ(steam, "GetTradeHistory", max_trades=2, start_after_time=last["time_init"],
                start_after_tradeid=last["tradeid"]).json()["response"]

    assert [t["tradeid"] for t in first["trades"]] == trades[:0:-1] and first["more"] is True
    assert first["total_trades"] == 3
    assert [t["tradeid"] for t in rest["trades"]] == [trades[0]] and rest["more"] is False


def test_player_summaries_in_batches_of_at_most_100(sandbox, steam):
    public = sandbox.create_user(persona_name="Alice")
    hidden = sandbox.create_user(persona_name="Bob", privateProfile=True)
    key = sandbox.bot.api_key

    profile = steam.get_profile(public["steamId"])
    assert (profile["personaname"], profile["communityvisibilitystate"]) == ("Alice", 3)
    ids = ",".join([public["steamId"], hidden["steamId"], "76561198000000001"])
    resp = steam._session.get("https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002",
                              params={"key": key, "steamids": ids})
    players = {p["steamid"]: p for p in resp.json()["response"]["players"]}
    assert set(players) == {public["steamId"], hidden["steamId"]}
    assert players[hidden["steamId"]]["communityvisibilitystate"] == 1
    too_many = ",".join(str(76561198000000000 + n) for n in range(101))
    assert steam._session.get("https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002",
                              params={"key": key, "steamids": too_many}).status_code == 400
    with pytest.raises(InvalidCredentials):
        steam._api_key = "0" * 32
        steam.get_profile(public["steamId"])


def test_market_prices_are_deterministic_and_settable(sandbox, steam):
    stock(sandbox, items=None)
    name = sandbox.inventory()["assets"][0]["marketHashName"]

    first = steam.market.fetch_price(name, GameOptions.CS)
    assert first == steam.market.fetch_price(name, GameOptions.CS) and first["success"] is True

    sandbox.set_price(name, lowestPrice="11.30", medianPrice="11.33", volume=1234)
    assert steam.market.fetch_price(name, GameOptions.CS) == {
        "success": True, "lowest_price": "$11.30", "volume": "1,234", "median_price": "$11.33",
    }
    unknown = steam._session.get("https://steamcommunity.com/market/priceoverview/",
                                 params={"appid": 730, "currency": 1, "market_hash_name": "No Such Item"})
    assert (unknown.status_code, unknown.json()) == (500, {"success": False})


def test_part_of_a_stack_changes_hands_and_the_rest_stays(sandbox, steam):
    gems = {"appid": 753, "classid": "667924416", "instanceid": "0", "name": "Gems", "market_hash_name": "753-Gems",
            "tradable": 1, "marketable": 0, "commodity": 1, "currency": 0, "type": "Steam Gems"}
    sandbox.load_inventory({"assets": [{"appid": 753, "contextid": "6", "assetid": "123456", "classid": "667924416",
                                        "instanceid": "0", "amount": "10"}], "descriptions": [gems]},
                           appid=753, contextid=6)
    user = sandbox.create_user("accept")

    offer_id = steam.make_offer_with_url([Asset("123456", GameOptions.STEAM, amount=3)], [], user["tradeUrl"])["tradeofferid"]

    assert offer(steam, offer_id)["trade_offer_state"] == 3
    [rest] = sandbox.inventory(appid=753, contextid=6)["assets"]
    [moved] = sandbox.inventory(account=user["steamId"], appid=753, contextid=6)["assets"]
    assert (rest["assetid"], rest["amount"]) == ("123456", 7)
    assert moved["amount"] == 3 and moved["assetid"] != "123456"
