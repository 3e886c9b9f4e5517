"""One test per steampy 1.2.0 quirk the gateway works around (astro/steam/steampy_fixes.py).

Each test shows the quirk in steampy itself, over real HTTP to a probe server
reached through the sandbox transport adapter, and then that Astro's code does
the right thing.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from steampy import guard
from steampy.client import SteamClient
from steampy.confirmation import ConfirmationExecutor
from steampy.models import GameOptions, TradeOfferState

from astro.steam import parsing
from astro.steam.errors import SteamAmbiguousError, SteamPermanentError, SteamSessionExpired
from astro.steam.confirmations import MobileConfirmations
from astro.steam.steampy_fixes import (
    AstroSteamClient,
    LoginStepFailed,
    check_steampy_version,
)
from astro.steam.transport import mount_transport
from astro.steam.types import AssetRef, OfferState
from tests.steam.gateway_http import BOT, Canned, ProbeServer, probe_gateway

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db

IDENTITY_SECRET = "GQP46b73Ws7gr8GmZFR0sDuau5c="
ACCESS = "eyAidHlwIjogIkpXVCIsICJhbGciOiAiRWREU0EiIH0.access"
LOGGED_IN_PAGE = f'<script>g_sessionID = "abc";\n\tg_steamID = "{BOT}";</script>'
TRADE_URL = "https://steamcommunity.com/tradeoffer/new/?partner=194845271&token=AbCdEf12"


@pytest.fixture
def probe():
    server = ProbeServer().start()
    server.route("steamcommunity.com", "/", body=LOGGED_IN_PAGE)
    yield server
    server.stop()


def steampy_client(probe) -> AstroSteamClient:
    client = AstroSteamClient(api_key=None, username="bot", password=None, shared_secret=None,
                              identity_secret=IDENTITY_SECRET)
    mount_transport(client.session, mode="sandbox", sandbox_url=probe.url, timeout=5)
    return client


@pytest.fixture
def gateway(probe):
    """A real gateway, logged in with operator cookies against the probe."""
    gateway = probe_gateway(probe, identity_secret=IDENTITY_SECRET)
    yield gateway
    cache.delete(gateway.config.session_key)


def test_steampy_version_is_the_one_the_fixes_were_written_for():
    check_steampy_version()


# ----------------------------------------------------- count=5000, no paging
def inventory_page(asset_ids: list[int], *, more: bool, total: int) -> dict:
    page = {
        "assets": [{"appid": 730, "contextid": "2", "assetid": str(a), "classid": "1", "instanceid": "0", "amount": "1"}
                   for a in asset_ids],
        "descriptions": [{"appid": 730, "classid": "1", "instanceid": "0", "tradable": 1, "marketable": 1,
                          "name": "Case", "market_hash_name": "Case", "type": "Container"}],
        "total_inventory_count": total, "success": 1, "rwgrsn": -2,
    }
    if more:
        page.update(more_items=1, last_assetid=str(asset_ids[-1]))
    return page


def paged_inventory(recorded) -> Canned:
    """Three pages of two items, keyed on start_assetid, like Steam."""
    start = recorded.query.get("start_assetid", [None])[0]
    pages = {None: ([106, 105], True), "105": ([104, 103], True), "103": ([102, 101], False)}
    ids, more = pages[start]
    return Canned(body=inventory_page(ids, more=more, total=6))


def test_inventory_count_5000_without_paging(probe, gateway):
    probe.route("steamcommunity.com", f"/inventory/{BOT}/730/2", handler=paged_inventory)
    client = steampy_client(probe)
    client.was_login_executed = True
    client.steam_guard["steamid"] = str(BOT)

    steampy_items = client.get_my_inventory(GameOptions.CS)

    # steampy: count=5000 (HTTP 400 from Steam since 2025), one request, first page only.
    (only,) = probe.requests
    assert only.query["count"] == ["5000"] and "start_assetid" not in only.query
    assert len(steampy_items) == 2

    probe.requests.clear()
    inventory = gateway.fetch_inventory(730, 2)

    pages = [r for r in probe.requests if r.path.startswith("/inventory/")]
    assert [r.query.get("start_assetid") for r in pages] == [None, ["105"], ["103"]]
    assert all(int(r.query["count"][0]) <= 1000 for r in pages)
    assert sorted(i.asset_id for i in inventory.items) == [101, 102, 103, 104, 105, 106]
    assert inventory.pages == 3 and inventory.total_count == 6


# --------------------------------------------------------------- no state 12
def test_state_12():
    with pytest.raises(ValueError):
        TradeOfferState(12)  # steampy's enum stops at 11 (accept_trade_offer dies on it)
    assert parsing.parse_offer_state(12) is OfferState.REVERTED


# ----------------------------------------------- strError instead of raising
STR_ERROR_26 = "There was an error sending your trade offer.  Please try again later. (26)"


def test_str_error_is_returned_not_raised(probe, gateway):
    probe.route("steamcommunity.com", "/tradeoffer/new/send", status=500, body={"strError": STR_ERROR_26})
    client = steampy_client(probe)
    client.was_login_executed = True

    result = client.make_offer_with_url([], [], TRADE_URL, message="t", confirm_trade=False)
    assert result == {"strError": STR_ERROR_26}  # steampy: no exception

    with pytest.raises(SteamPermanentError) as error:
        gateway.send_offer(trade_url=TRADE_URL, assets=[AssetRef(730, 2, 1)], message="astro:tag")
    assert error.value.code == "items_unavailable" and error.value.eresult == 26


def test_null_401_on_send_renews_the_session(probe, gateway):
    probe.route("steamcommunity.com", "/tradeoffer/new/send", status=401, body=None)
    client = steampy_client(probe)
    client.was_login_executed = True
    # steampy hands back the JSON null (or dies on None.get when it would confirm).
    assert client.make_offer_with_url([], [], TRADE_URL, confirm_trade=False) is None
    with pytest.raises(AttributeError):
        client.make_offer_with_url([], [], TRADE_URL, confirm_trade=True)

    gateway.ensure_session()
    logins_before = sum(r.path == "/" for r in probe.requests)
    with pytest.raises(SteamSessionExpired):
        gateway.send_offer(trade_url=TRADE_URL, assets=[AssetRef(730, 2, 1)], message="astro:tag")
    # Logged in again (the cookie path checks the page), ready for the caller's next try.
    assert sum(r.path == "/" for r in probe.requests) == logins_before + 1
    assert sum(r.path == "/tradeoffer/new/send" for r in probe.requests) == 3  # steampy's two + ours: never repeated


def test_send_timeout_is_ambiguous(probe, gateway):
    probe.route("steamcommunity.com", "/tradeoffer/new/send",
                handler=lambda r: Canned(body={"tradeofferid": "1"}, delay=1.5))
    with pytest.raises(SteamAmbiguousError):
        gateway.send_offer(trade_url=TRADE_URL, assets=[AssetRef(730, 2, 1)], message="astro:tag")
    assert sum(r.path == "/tradeoffer/new/send" for r in probe.requests) == 1


# ------------------------------------------------------------ hard-coded hosts
def test_hard_coded_steam_urls_reach_the_sandbox_with_their_host(probe):
    probe.route("steamcommunity.com", "/tradeoffer/42/cancel", body={"tradeofferid": "42"})
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": True, "conf": []})
    client = steampy_client(probe)
    client.steam_guard["steamid"] = str(BOT)

    assert client.cancel_trade_offer("42") == {"tradeofferid": "42"}
    assert ConfirmationExecutor.CONF_URL == "https://steamcommunity.com/mobileconf"
    assert ConfirmationExecutor(IDENTITY_SECRET, str(BOT), client.session)._get_confirmations() == []

    assert [(r.host, r.path) for r in probe.requests] == [
        ("steamcommunity.com", "/tradeoffer/42/cancel"), ("steamcommunity.com", "/mobileconf/getlist")]


# ---------------------------------------------------------- needauth on mobileconf
def test_needauth_is_told_apart_from_other_failures(probe):
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": False, "needauth": True})
    client = steampy_client(probe)
    client.steam_guard["steamid"] = str(BOT)

    with pytest.raises(KeyError):  # steampy reads ['conf'] of the needauth answer
        ConfirmationExecutor(IDENTITY_SECRET, str(BOT), client.session)._get_confirmations()
    with pytest.raises(SteamSessionExpired):
        MobileConfirmations(IDENTITY_SECRET).pending_offers(client, 1617591917)


def test_confirmations_in_one_batch_matched_by_creator_id_without_details_pages(probe):
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": True, "conf": [
        {"type": 2, "id": "1", "nonce": "n1", "creator_id": "111"},
        {"type": 2, "id": "2", "nonce": "n2", "creator_id": "222"},
        {"type": 3, "id": "3", "nonce": "n3", "creator_id": "333"}]})  # a market listing, not ours to confirm
    probe.route("steamcommunity.com", "/mobileconf/multiajaxop", body={"success": True})
    client = steampy_client(probe)
    client.steam_guard["steamid"] = str(BOT)
    confirmations = MobileConfirmations(IDENTITY_SECRET)

    pending = confirmations.pending_offers(client, 1617591917)
    assert [e.creator_id for e in pending] == ["111", "222"]
    assert confirmations.allow_all(client, pending, 1617591918) is True

    getlist, multi = probe.requests
    assert (getlist.method, getlist.query["tag"], getlist.query["t"]) == ("GET", ["conf"], ["1617591917"])
    # The key of steamguard-cli's vector for this secret, time and tag.
    assert getlist.query["k"] == [guard.generate_confirmation_key(IDENTITY_SECRET, "conf", 1617591917).decode()]
    assert multi.method == "POST" and multi.headers["Origin"] == "https://steamcommunity.com"
    assert (multi.form["op"], multi.form["cid[]"], multi.form["ck[]"]) == (["allow"], ["1", "2"], ["n1", "n2"])
    assert multi.form["k"] == [guard.generate_confirmation_key(IDENTITY_SECRET, "allow", 1617591918).decode()]


# ------------------------------------------------ login_cookies / access token
def test_cookie_login(probe):
    cookies = {"steamLoginSecure": f"{BOT}%7C%7C{ACCESS}"}
    stock = SteamClient("")
    mount_transport(stock._session, mode="sandbox", sandbox_url=probe.url, timeout=5)
    stock.set_login_cookies(cookies)
    # steampy: domain-less cookies that _get_session_id (exact domain) cannot see, no access token.
    assert stock._get_session_id() is None
    assert stock._access_token is None

    ours = steampy_client(probe)
    ours.login_with_cookies(cookies)
    assert ours.steam_id == BOT
    assert ours.access_token == ACCESS
    assert ours._get_session_id()
    assert ours.session.cookies.get("steamLoginSecure", domain="store.steampowered.com")


def test_cookie_login_refuses_a_logged_out_session(probe):
    probe.route("steamcommunity.com", "/", body='<script>g_steamID = false;</script><title>Sign In</title>')
    with pytest.raises(LoginStepFailed, match="logged-out page"):
        steampy_client(probe).login_with_cookies({"steamLoginSecure": f"{BOT}%7C%7C{ACCESS}"})


def test_access_token_is_never_printed(capsys):
    stock = SteamClient("")
    stock._session.cookies.set("steamLoginSecure", "secret-cookie-without-separator", domain="steamcommunity.com")
    with pytest.raises(ValueError):
        stock._set_access_token()
    assert "secret-cookie-without-separator" in capsys.readouterr().out  # steampy prints it

    ours = AstroSteamClient(api_key=None, username="u", password=None, shared_secret=None, identity_secret=None)
    ours.session.cookies.set("steamLoginSecure", "secret-cookie-without-separator", domain="steamcommunity.com")
    with pytest.raises(ValueError):
        ours._set_access_token()
    assert capsys.readouterr().out == ""


# ------------------------------------------------------- TOTP / confirmation keys
def test_confirmation_key_and_device_id_vectors():
    # steamguard-cli's answers for this identity secret, time and steamid.
    assert guard.generate_confirmation_key(IDENTITY_SECRET, "conf", 1617591917) == b"NaL8EIMhfy/7vBounJ0CvpKbrPk="
    assert guard.generate_device_id(str(BOT)) == "android:1fa4e85b-2756-abd6-4aa8-b185fc5cb359"


def test_totp_code_shape_and_period():
    code = guard.generate_one_time_code(IDENTITY_SECRET, 1617591917)
    assert len(code) == 5 and set(code) <= set("23456789BCDFGHJKMNPQRTVWXY")
    # One code per 30 s window.
    assert guard.generate_one_time_code(IDENTITY_SECRET, 1617591900) == guard.generate_one_time_code(IDENTITY_SECRET, 1617591929)
    assert guard.generate_one_time_code(IDENTITY_SECRET, 1617591930) != guard.generate_one_time_code(IDENTITY_SECRET, 1617591929)
