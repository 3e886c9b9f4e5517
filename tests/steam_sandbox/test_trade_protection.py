"""The trade protection notice (Steam since July 2025): a bot that never acknowledged
it sees its confirmations fail with a bare {"success":false} (or, by the switch, its
sends refused with a plain (15)); one POST /trade/new/acknowledge clears it. Over
HTTP, steampy driving."""

from __future__ import annotations

from pathlib import Path

import pytest
from steampy.models import Asset, GameOptions

import steam_sandbox
from tests.support.sandbox import SandboxError

BOT = 76561198080179568


@pytest.fixture
def unacknowledged(sandbox, sandbox_steampy):
    """A logged-in bot that has not acknowledged the notice (the test client acknowledges
    after logging in; this takes it back through the control API)."""
    assert sandbox.set_trade_protection_acknowledged(False) == {"steamId": str(BOT), "acknowledged": False}
    return sandbox_steampy


def send(steam, user, asset_id, *, confirm=False):
    return steam.make_offer_with_url([Asset(asset_id, GameOptions.CS)], [], user["tradeUrl"], confirm_trade=confirm)


def acknowledge(steam, path="/trade/new/acknowledge"):
    return steam._session.post(f"https://steamcommunity.com{path}", data={"sessionid": steam._get_session_id(), "message": 1})


def test_a_new_bot_has_not_acknowledged(sandbox):
    assert sandbox.call("GET", "/sandbox/bots/bot/trade-protection")["acknowledged"] is False
    assert sandbox.state()["bot"]["tradeProtectionAcknowledged"] is False
    assert sandbox.call("GET", "/sandbox/config")["requireTradeAcknowledgement"] is True


def test_unacknowledged_confirmations_fail_bare_until_acknowledged(sandbox, unacknowledged):
    steam = unacknowledged
    user = sandbox.create_user("ignore")
    offer_id = send(steam, user, sandbox.add_items(count=1)[0]["assetid"])["tradeofferid"]
    executor = steam.confirmation_executor()

    assert executor.send_trade_allow_request(offer_id) == {"success": False}  # no message: Steam says no more
    assert sandbox.offer(offer_id)["state"] == 9 and len(sandbox.confirmations()) == 1

    assert acknowledge(steam).status_code == 200
    assert acknowledge(steam).status_code == 200  # again: harmless

    assert executor.send_trade_allow_request(offer_id) == {"success": True}
    assert sandbox.offer(offer_id)["state"] == 2


def test_unacknowledged_multiajaxop_fails_too(sandbox, unacknowledged):
    steam = unacknowledged
    user = sandbox.create_user("ignore")
    offer_id = send(steam, user, sandbox.add_items(count=1)[0]["assetid"])["tradeofferid"]
    executor = steam.confirmation_executor()
    [conf] = executor._get_confirmations()
    form = {**executor._create_confirmation_params("allow"), "op": "allow", "cid[]": [conf.data_confid], "ck[]": [conf.nonce]}

    resp = steam._session.post("https://steamcommunity.com/mobileconf/multiajaxop", data=form,
                               headers={"Origin": "https://steamcommunity.com"})

    assert resp.json() == {"success": False}
    assert sandbox.offer(offer_id)["state"] == 9


def test_by_the_switch_the_send_is_refused_with_a_plain_15(sandbox, unacknowledged):
    steam = unacknowledged
    sandbox.set_config(tradeAcknowledgementSymptom="send")
    user = sandbox.create_user("ignore")
    asset = sandbox.add_items(count=1)[0]["assetid"]

    refused = send(steam, user, asset)
    assert refused == {"strError": "There was an error sending your trade offer.  Please try again later. (15)"}
    assert sandbox.offers() == []

    acknowledge(steam, "//trade/new/acknowledge")  # one client writes it with a double slash
    assert send(steam, user, asset, confirm=True)["success"] is True


def test_the_requirement_can_be_switched_off(sandbox, unacknowledged):
    sandbox.set_config(requireTradeAcknowledgement=False)
    user = sandbox.create_user("ignore")

    sent = send(unacknowledged, user, sandbox.add_items(count=1)[0]["assetid"], confirm=True)

    assert sent["success"] is True


def test_the_acknowledgement_survives_a_restart_and_is_set_and_cleared_per_bot(sandbox):
    assert sandbox.set_trade_protection_acknowledged(True)["acknowledged"] is True
    assert sandbox.call("GET", f"/sandbox/bots/{BOT}/trade-protection")["acknowledged"] is True
    assert sandbox.set_trade_protection_acknowledged(False, bot=str(BOT))["acknowledged"] is False
    with pytest.raises(SandboxError) as unknown:
        sandbox.set_trade_protection_acknowledged(True, bot="76561198000000001")
    assert unknown.value.status == 404


def test_the_invented_texts_are_produced_nowhere():
    package = Path(steam_sandbox.__file__).parent
    sources = "\n".join(p.read_text() for p in package.rglob("*.py"))

    assert "trade_protection_not_acknowledged" not in sources
    assert "acknowledge the trade protection" not in sources.lower()
