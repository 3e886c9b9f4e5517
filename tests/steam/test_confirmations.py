"""Mobile confirmations in batches: one getlist and one multiajaxop for every pending offer,
one ajaxop each when Steam refuses the batch, one round per pacing step per bot."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection

from astro.core.ratelimit import pace_reserve
from astro.steam import confirmations
from astro.steam.errors import SteamPermanentError, SteamTransientError
from astro.steam.types import AssetRef
from tests.steam.gateway_http import BOT, Canned, ProbeServer, fresh_gateway, probe_gateway

pytestmark = pytest.mark.django_db
IDENTITY_SECRET = "GQP46b73Ws7gr8GmZFR0sDuau5c="


# ------------------------------------------------------------------ the probe
@pytest.fixture
def probe():
    server = ProbeServer().start()
    server.route("steamcommunity.com", "/", body=f'<script>g_steamID = "{BOT}";</script>')
    server.route("api.steampowered.com", "/ITwoFactorService/QueryTime/v1/",
                 handler=lambda r: Canned(body={"response": {"server_time": "1700000000"}}))
    server.route("steamcommunity.com", "/trade/new/acknowledge", body={"success": 1})
    yield server
    server.stop()


def offer_answer(state: int):
    def answer(recorded):
        offer_id = recorded.query["tradeofferid"][0]
        return Canned(body={"response": {"offer": {"tradeofferid": offer_id, "accountid_other": 1,
                                                   "trade_offer_state": state, "is_our_offer": True}}})
    return answer


def test_a_refused_batch_falls_back_to_one_ajaxop_per_offer(probe):
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": True, "conf": [
        {"type": 2, "id": "1", "nonce": "n1", "creator_id": "111"},
        {"type": 2, "id": "2", "nonce": "n2", "creator_id": "222"}]})
    probe.route("steamcommunity.com", "/mobileconf/multiajaxop", body={"success": False})
    probe.route("steamcommunity.com", "/mobileconf/ajaxop",
                handler=lambda r: Canned(body={"success": r.query["cid"] == ["1"]}))
    probe.route("api.steampowered.com", "/IEconService/GetTradeOffer/v1", handler=offer_answer(9))
    gateway = probe_gateway(probe, identity_secret=IDENTITY_SECRET)

    assert gateway.confirm_offers(["111", "222"]) == {"111"}

    conf = [(r.method, r.path, r.query.get("cid") or r.form.get("cid[]")) for r in probe.requests
            if r.path.startswith("/mobileconf/")]
    # A refused offer means the notice again: acknowledged, and one more round.
    assert conf == [("GET", "/mobileconf/getlist", None), ("POST", "/mobileconf/multiajaxop", ["1", "2"]),
                    ("GET", "/mobileconf/ajaxop", ["1"]), ("GET", "/mobileconf/ajaxop", ["2"]),
                    ("GET", "/mobileconf/getlist", None), ("POST", "/mobileconf/multiajaxop", ["2"]),
                    ("GET", "/mobileconf/ajaxop", ["2"])]
    assert sum(r.path == "/trade/new/acknowledge" for r in probe.requests) == 2  # before the first, and again
    cache.delete(gateway.config.session_key)


def test_confirm_offer_says_why_an_offer_was_not_confirmed(probe):
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": True, "conf": []})
    gateway = probe_gateway(probe, identity_secret=IDENTITY_SECRET)
    probe.route("api.steampowered.com", "/IEconService/GetTradeOffer/v1", handler=offer_answer(9))
    with pytest.raises(SteamTransientError) as not_listed:
        gateway.confirm_offer("111")
    assert not_listed.value.code == "confirmation_not_ready"
    probe.route("api.steampowered.com", "/IEconService/GetTradeOffer/v1", handler=offer_answer(7))
    with pytest.raises(SteamPermanentError) as ended:
        gateway.confirm_offer("111")
    assert ended.value.code == "invalid_state"
    probe.route("api.steampowered.com", "/IEconService/GetTradeOffer/v1", body={"response": {}})
    with pytest.raises(SteamPermanentError) as unknown:
        gateway.confirm_offer("111")
    assert unknown.value.code == "not_found"
    cache.delete(gateway.config.session_key)


# ---------------------------------------------------------------- the sandbox
def send(sandbox, gateway, user, n: int) -> list[str]:
    made = sandbox.add_items(count=n)
    return [gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, int(a["assetid"]))],
                               message=f"astro:c{i}").offer_id for i, a in enumerate(made)]


def test_one_getlist_and_one_multiajaxop_for_all_pending_offers(sandbox):
    user = sandbox.create_user("ignore")
    gateway = fresh_gateway()
    done, *pending = send(sandbox, gateway, user, 4)
    gateway.confirm_offer(done)
    mark = sandbox.last_request_seq()

    confirmed = gateway.confirm_offers([*pending, done, "6199999999"])

    assert confirmed == {*pending, done}  # done: already past its confirmation; the unknown id is not
    assert [sandbox.offer(i)["state"] for i in pending] == [2, 2, 2]
    conf = sandbox.requests_log(since=mark, path_prefix="/mobileconf/")
    assert [(r["method"], r["path"]) for r in conf] == [("GET", "/mobileconf/getlist"), ("POST", "/mobileconf/multiajaxop")]
    assert gateway.confirm_offers([]) == set()


@pytest.mark.django_db(transaction=True)  # the threads' gateways write the bot's row on their own connections
def test_rounds_are_paced_per_bot_across_gateways(sandbox):
    # The sandbox answers 429 to a getlist sooner than this after the last one (Steam's limit).
    sandbox.set_config(confirmationMinIntervalSeconds=1)
    user = sandbox.create_user("ignore")
    seeder = fresh_gateway()
    ids = send(sandbox, seeder, user, 4)
    seeder.confirm_offer(ids[0])  # logged in, acknowledged
    pace_reserve(confirmations.pace_key(seeder.steam_session.realm, sandbox.bot.steam_id), spacing=1.5)
    mark = sandbox.last_request_seq()
    # A pace a little above Steam's limit, as the default 10 s is above Steam's "about 10 s".
    gateways = [fresh_gateway(confirmation_pacing=1.5) for _ in range(3)]
    for g in gateways:
        g.ensure_session()
    errors: list[Exception] = []

    def confirm(gateway, offer_id):
        try:
            gateway.confirm_offer(offer_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(g, i)) for g, i in zip(gateways, ids[1:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    getlists = sandbox.requests_log(since=mark, path_prefix="/mobileconf/getlist")
    assert len(getlists) == 3 and [r["status"] for r in getlists] == [200, 200, 200]  # never one too soon
    assert [sandbox.offer(i)["state"] for i in ids] == [2, 2, 2, 2]
