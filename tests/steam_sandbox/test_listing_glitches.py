"""GetTradeOffers as Steam answers it on a bad day (switches, off by default): asset
ids 0, empty pages, false 429s, a backdated time_updated, states and statuses no enum
knows; and time_historical_cutoff as Steam honours it. Over HTTP."""

from __future__ import annotations

import pytest
from steampy.models import Asset, GameOptions

ECON = "https://api.steampowered.com/IEconService"


@pytest.fixture
def steam(sandbox_steampy):
    return sandbox_steampy


def listing(steam, **params):
    params = {"get_sent_offers": 1, "get_received_offers": 0, "active_only": 1, "time_historical_cutoff": 4294967295, **params}
    return steam._session.get(f"{ECON}/GetTradeOffers/v1", params={"access_token": steam._access_token, **params})


def sent_ids(resp) -> list[str]:
    return [o["tradeofferid"] for o in resp.json()["response"].get("trade_offers_sent", [])]


def send(sandbox, steam, user):
    asset = sandbox.add_items(count=1)[0]["assetid"]
    return steam.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"])["tradeofferid"]


def test_nothing_glitches_by_default(sandbox, steam):
    defaults = sandbox.call("GET", "/sandbox/config/defaults")["steam"]

    assert {k: v for k, v in defaults.items() if k.startswith("glitch")} == {
        "glitchZeroAssetIds": 0, "glitchEmptyPage": 0, "glitchFalse429": 0, "glitchBackdateTimeUpdatedSeconds": 0,
    }


def test_every_nth_listing_can_show_asset_ids_0(sandbox, steam):
    offer_id = send(sandbox, steam, sandbox.create_user("ignore"))
    sandbox.set_config(glitchZeroAssetIds=2)

    first, second, third = (listing(steam).json()["response"]["trade_offers_sent"][0] for _ in range(3))

    assert first["items_to_give"][0]["assetid"] != "0"
    assert (second["items_to_give"][0]["assetid"], second["items_to_give"][0]["contextid"]) == ("0", "0")
    assert second["tradeofferid"] == offer_id and second["items_to_give"][0]["classid"] == first["items_to_give"][0]["classid"]
    assert third == first


def test_every_nth_listing_can_be_empty_or_a_false_429(sandbox, steam):
    offer_id = send(sandbox, steam, sandbox.create_user("ignore"))

    sandbox.set_config(glitchEmptyPage=1)
    empty = listing(steam)
    sandbox.set_config(glitchEmptyPage=0, glitchFalse429=3)
    answers = [listing(steam) for _ in range(3)]  # listings 2, 3, 4 of this bot: the 3rd is a 429

    assert empty.json() == {"response": {"next_cursor": 0}}
    assert [r.status_code for r in answers] == [200, 429, 200]
    assert answers[1].text == "null" and sent_ids(answers[2]) == [offer_id]
    assert sandbox.counters()["listings"] == 4


def test_a_backdated_time_updated_slips_past_a_short_cutoff(sandbox, steam):
    sent = send(sandbox, steam, sandbox.create_user("ignore"))
    sandbox.advance_clock(3600)
    sandbox.act_on_offer(sent, "decline")
    now = sandbox.call("GET", "/sandbox/clock")["now"]
    sandbox.set_config(glitchBackdateTimeUpdatedSeconds=600)

    shown = steam._session.get(f"{ECON}/GetTradeOffer/v1", params={"access_token": steam._access_token,
                                                                  "tradeofferid": sent}).json()["response"]["offer"]
    five_minutes = listing(steam, time_historical_cutoff=now - 300)
    thirty_minutes = listing(steam, time_historical_cutoff=now - 1800)

    assert shown["trade_offer_state"] == 7 and now - 600 - 2 <= shown["time_updated"] <= now - 600 + 2
    assert sent_ids(five_minutes) == []  # Steam compares with the time it shows
    assert sent_ids(thirty_minutes) == [sent]


def test_the_cutoff_as_steam_honours_it(sandbox, steam):
    ignorer, decliner = sandbox.create_user("ignore"), sandbox.create_user("decline")
    active = send(sandbox, steam, ignorer)
    declined = send(sandbox, steam, decliner)
    sandbox.advance_clock(5)

    first_visit = listing(steam, time_historical_cutoff="")  # no earlier listing: no extras
    only_active = listing(steam)  # ASF's 4294967295: nothing historical
    sandbox.advance_clock(5)
    declined_later = send(sandbox, steam, decliner)
    since_last_visit = listing(steam, time_historical_cutoff="")  # what changed since the previous listing
    full = listing(steam, active_only=0, time_historical_cutoff=1)  # node-steam-tradeoffer-manager's full update

    assert sent_ids(first_visit) == [active]
    assert sent_ids(only_active) == [active]
    assert sent_ids(since_last_visit) == [declined_later, active]
    assert sorted(sent_ids(full)) == sorted([active, declined, declined_later])


def test_an_offer_can_show_a_state_and_its_trade_a_status_no_enum_knows(sandbox, steam):
    user = sandbox.create_user("accept")
    offer_id = send(sandbox, steam, user)
    trade_id = sandbox.offer(offer_id)["tradeId"]

    sandbox.act_on_offer(offer_id, "glitch", state=13, tradeStatus=13)

    shown = listing(steam, active_only=0, time_historical_cutoff=1).json()["response"]["trade_offers_sent"][0]
    status = steam._session.get(f"{ECON}/GetTradeStatus/v1", params={"access_token": steam._access_token,
                                                                   "tradeid": trade_id}).json()["response"]["trades"][0]
    history = steam._session.get(f"{ECON}/GetTradeHistory/v1", params={"access_token": steam._access_token}).json()
    assert (shown["trade_offer_state"], status["status"]) == (13, 13)
    assert history["response"]["trades"][0]["status"] == 13
    assert sandbox.offer(offer_id)["state"] == 3 and sandbox.offer(offer_id)["shownState"] == 13

    sandbox.act_on_offer(offer_id, "glitch", state=None)
    assert listing(steam, active_only=0, time_historical_cutoff=1).json()["response"]["trade_offers_sent"][0]["trade_offer_state"] == 3
