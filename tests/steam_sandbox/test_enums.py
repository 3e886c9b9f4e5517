"""Steam's numbers are named in the sandbox (steam_sandbox/enums.py) but everything it
writes keeps the plain integers Steam sends: JSON bodies, headers, error texts and
the state files."""

from __future__ import annotations

import json

import pytest
from steampy.models import Asset, GameOptions

from steam_sandbox.enums import EResult, ETradeOfferState, ETradeStatus
from steam_sandbox.web import json_body

ALL_MEMBERS = [*ETradeOfferState, *ETradeStatus, *EResult]


def test_the_offer_states_are_steams():
    assert {s.name: s.value for s in ETradeOfferState} == {
        "Invalid": 1, "Active": 2, "Accepted": 3, "Countered": 4, "Expired": 5, "Canceled": 6, "Declined": 7,
        "InvalidItems": 8, "CreatedNeedsConfirmation": 9, "CanceledBySecondFactor": 10, "InEscrow": 11, "Reverted": 12,
    }
    assert [s.value for s in ETradeStatus] == list(range(13))


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_a_member_is_written_as_its_integer(member):
    number = int(member)

    assert json.dumps(member) == json_body(member) == str(number)
    assert json.dumps({"state": member}, separators=(",", ":")) == f'{{"state":{number}}}'
    assert json.dumps({member: "key"}) == f'{{"{number}": "key"}}'
    assert str(member) == f"{member}" == f"({member})"[1:-1] == str(number)


def test_the_bodies_and_the_saved_state_carry_the_bare_integers(sandbox, sandbox_steampy):
    steam = sandbox_steampy
    user = sandbox.create_user("ignore")
    [asset] = [a["assetid"] for a in sandbox.add_items(count=1)]
    offer_id = steam.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"], confirm_trade=False)["tradeofferid"]
    econ = "https://api.steampowered.com/IEconService"
    deposit = sandbox.deposit(user["steamId"], count=1)

    offer = steam._session.get(f"{econ}/GetTradeOffer/v1", params={"access_token": steam._access_token, "tradeofferid": offer_id})
    status = steam._session.get(f"{econ}/GetTradeStatus/v1", params={"access_token": steam._access_token, "tradeid": deposit["tradeId"]})
    unknown = steam._session.get(f"{econ}/GetTradeStatus/v1", params={"access_token": steam._access_token, "tradeid": 1})
    refused = steam.make_offer_with_url([Asset("999", GameOptions.CS)], [], user["tradeUrl"])
    listed = sandbox.http.get(f"{sandbox.url}/sandbox/offers")

    assert '"trade_offer_state":9,' in offer.text and '"confirmation_method":2}' in offer.text
    assert '"status":3' in status.text and status.headers["X-eresult"] == "1"
    assert unknown.headers["X-eresult"] == "42"
    assert refused["strError"].endswith(" (26)")
    assert '"state":9,"stateName":"CreatedNeedsConfirmation"' in listed.text
    assert '"states":{"1":"Invalid","2":"Active",' in listed.text

    sandbox.save()
    core = (sandbox.process.state_dir / "core.json").read_text()
    assert '"state":9,' in core and '"status":3,' in core
