"""Delivered means the trade completed: an accepted offer's trade completes, fails
before completing, or is rolled back within the protection window (a per-user
behaviour); escrow holds; GetTradeHoldDurations; the pending-offer limits. Over
HTTP, steampy driving."""

from __future__ import annotations

import pytest
from steampy.models import Asset, GameOptions

from tests.support.sandbox import SandboxError

BOT = 76561198080179568
ECON = "https://api.steampowered.com/IEconService"
DAY = 86400


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def econ(steam, method, **params):
    return steam._session.get(f"{ECON}/{method}/v1", params={"access_token": steam._access_token, **params}).json()["response"]


def send(steam, user, asset_ids, *, confirm=True):
    return steam.make_offer_with_url([Asset(a, GameOptions.CS) for a in asset_ids], [], user["tradeUrl"], confirm_trade=confirm)


def stock(sandbox, count=1):
    return [a["assetid"] for a in sandbox.add_items(count=count)]


def offer(steam, offer_id):
    return econ(steam, "GetTradeOffer", tradeofferid=offer_id)["offer"]


def trade(steam, trade_id):
    [found] = econ(steam, "GetTradeStatus", tradeid=trade_id)["trades"]
    return found


# ---------------------------------------------------------------- how the trade ends
def test_an_accepted_offers_trade_is_complete_by_default(sandbox, steam):
    user = sandbox.create_user("accept")

    accepted = offer(steam, send(steam, user, stock(sandbox))["tradeofferid"])

    assert accepted["trade_offer_state"] == 3
    assert trade(steam, accepted["tradeid"])["status"] == 3


def test_a_failing_trade_leaves_the_items_with_the_bot_under_new_ids(sandbox, steam):
    user = sandbox.create_user("accept", tradeOutcome="fail")
    assets = stock(sandbox, 2)
    other = sandbox.create_user("ignore")
    bystander = send(steam, other, [assets[0]])["tradeofferid"]  # names an old id

    accepted = offer(steam, send(steam, user, assets)["tradeofferid"])

    assert accepted["trade_offer_state"] == 3  # the offer says accepted...
    failed = trade(steam, accepted["tradeid"])
    assert failed["status"] == 4  # ...the trade says Failed
    moved = {a["assetid"]: (a["new_assetid"], a["new_contextid"]) for a in failed["assets_given"]}
    assert set(moved) == set(assets)
    assert sorted(sandbox.asset_ids()) == sorted(new for new, _ in moved.values())
    assert {ctx for _, ctx in moved.values()} == {"2"}
    assert sandbox.asset_ids(account=user["steamId"]) == []
    assert offer(steam, bystander)["trade_offer_state"] == 8  # its item has a new id now
    history = econ(steam, "GetTradeHistory", include_failed=1)["trades"]
    assert [t["status"] for t in history if t["tradeid"] == accepted["tradeid"]] == [4]
    assert accepted["tradeid"] not in {t["tradeid"] for t in econ(steam, "GetTradeHistory")["trades"]}


@pytest.mark.parametrize("offer_state, touches", [(12, True), (3, True), (3, False), (12, False)])
def test_a_trade_is_rolled_back_within_the_protection_window(sandbox, steam, offer_state, touches):
    sandbox.set_config(revertOfferState=offer_state, revertTouchesTimeUpdated=touches)
    user = sandbox.create_user("accept", tradeOutcome="revert", revertAfterSeconds=2 * DAY)
    [asset] = stock(sandbox)
    offer_id = send(steam, user, [asset])["tradeofferid"]
    accepted = offer(steam, offer_id)
    trade_id = accepted["tradeid"]
    assert trade(steam, trade_id)["status"] == 3
    assert sandbox.offer(offer_id)["revertAt"] == accepted["time_updated"] + 2 * DAY

    sandbox.advance_clock(2 * DAY + 1)
    steam.login()  # two days on, on the sandbox clock: the day-long access token has expired

    reverted = offer(steam, offer_id)
    assert reverted["trade_offer_state"] == offer_state
    assert (reverted["time_updated"] > accepted["time_updated"]) is touches
    original = trade(steam, trade_id)
    assert original["status"] == 12 and original["rollback_trade"]
    rollback = trade(steam, original["rollback_trade"])
    [back] = rollback["assets_received"]
    assert rollback["status"] == 3 and back["assetid"] == original["assets_given"][0]["new_assetid"]
    assert sandbox.asset_ids() == [back["new_assetid"]] and back["new_assetid"] != asset
    assert sandbox.asset_ids(account=user["steamId"]) == []


def test_a_revert_by_hand_follows_the_same_switches(sandbox, steam):
    sandbox.set_config(revertOfferState=3, revertTouchesTimeUpdated=False)
    user = sandbox.create_user("accept")
    offer_id = send(steam, user, stock(sandbox))["tradeofferid"]
    before = offer(steam, offer_id)

    rollback_id = sandbox.act_on_offer(offer_id, "revert")["rollbackTradeId"]

    after = offer(steam, offer_id)
    assert (after["trade_offer_state"], after["time_updated"]) == (3, before["time_updated"])
    assert trade(steam, before["tradeid"])["rollback_trade"] == rollback_id


def test_an_escrowed_trade_says_in_escrow_with_the_hold_end(sandbox, steam):
    user = sandbox.create_user("escrow", escrowDays=15)

    held = offer(steam, send(steam, user, stock(sandbox))["tradeofferid"])

    status = trade(steam, held["tradeid"])
    assert (held["trade_offer_state"], status["status"]) == (11, 10)
    assert status["time_escrow_end"] == held["escrow_end_date"] > 0


def test_a_user_with_an_unknown_trade_outcome_is_refused(sandbox):
    with pytest.raises(SandboxError) as refused:
        sandbox.create_user("accept", tradeOutcome="maybe")
    assert refused.value.status == 400 and refused.value.body["details"]["field"] == "tradeOutcome"


# ---------------------------------------------------------------- escrow before sending
def test_trade_hold_durations_need_the_trade_url_token(sandbox, steam):
    held = sandbox.create_user("ignore", escrowDays=15)
    free = sandbox.create_user("ignore")

    with_token = econ(steam, "GetTradeHoldDurations", steamid_target=held["steamId"], trade_offer_access_token=held["tradeToken"])
    no_hold = econ(steam, "GetTradeHoldDurations", steamid_target=free["steamId"], trade_offer_access_token=free["tradeToken"])
    without_token = econ(steam, "GetTradeHoldDurations", steamid_target=held["steamId"])

    assert with_token["their_escrow"]["escrow_end_duration_seconds"] == 15 * DAY
    assert with_token["both_escrow"]["escrow_end_duration_seconds"] == 15 * DAY
    assert with_token["my_escrow"] == {"escrow_end_duration_seconds": 0}
    assert with_token["their_escrow"]["escrow_end_date"] > 0
    assert no_hold["their_escrow"] == {"escrow_end_duration_seconds": 0}
    assert without_token == {}


# ---------------------------------------------------------------- pending-offer limits
def test_at_most_5_pending_offers_per_partner_then_25(sandbox, steam):
    user, other = sandbox.create_user("ignore", persona_name="Patience"), sandbox.create_user("ignore")
    assets = stock(sandbox, 7)

    sent = [send(steam, user, [a], confirm=n % 2 == 0) for n, a in enumerate(assets[:5])]  # active or unconfirmed
    refused = send(steam, user, [assets[5]])

    assert all("tradeofferid" in s for s in sent)
    assert refused["strError"].endswith("(25)") and "too many outstanding trade offers with Patience" in refused["strError"]
    assert "tradeofferid" in send(steam, other, [assets[5]])  # another partner: fine
    steam.cancel_trade_offer(sent[0]["tradeofferid"])
    assert "tradeofferid" in send(steam, user, [assets[6]])  # one freed up


def test_at_most_30_pending_offers_in_all(sandbox, steam):
    sandbox.set_config(maxPendingOffers=3, maxPendingOffersPerPartner=2)
    users = [sandbox.create_user("ignore") for _ in range(3)]
    assets = stock(sandbox, 4)

    for user, asset in zip(users, assets[:3]):
        assert "tradeofferid" in send(steam, user, [asset])
    refused = send(steam, users[2], [assets[3]])

    assert refused["strError"].endswith("(25)")
    assert sandbox.call("GET", "/sandbox/config/defaults")["steam"]["maxPendingOffers"] == 30
    assert sandbox.call("GET", "/sandbox/config/defaults")["steam"]["maxPendingOffersPerPartner"] == 5
