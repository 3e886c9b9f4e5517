"""steamcommunity.com's request filter (Steam since July 2026): what is not a browser,
or the mobile app on /mobileconf/, gets 429. Over HTTP with plain requests sessions."""

from __future__ import annotations

import pytest
import requests
from steampy.models import GameOptions

from tests.steam_sandbox.clients import raw_session
from tests.support.sandbox import BROWSER_HEADERS

BOT = 76561198080179568
TOO_MANY = "You've made too many requests recently. Please wait and try your request again later."


def plain(sandbox, **headers) -> requests.Session:
    """What `requests` sends by itself (python-requests, no Accept-Language), plus `headers`."""
    return raw_session(sandbox, **headers)


def test_python_requests_headers_get_429_a_page_for_html_and_null_for_json(sandbox):
    session = plain(sandbox)

    home = session.get("https://steamcommunity.com/")
    inventory = session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2", params={"count": 10})
    getlist = session.get("https://steamcommunity.com/mobileconf/getlist")
    send = session.post("https://steamcommunity.com/tradeoffer/new/send", data={"sessionid": "x"})

    assert home.status_code == 429 and TOO_MANY in home.text and home.headers["Content-Type"].startswith("text/html")
    assert [(r.status_code, r.text) for r in (inventory, getlist, send)] == [(429, "null")] * 3
    assert "Retry-After" not in home.headers
    logged = sandbox.requests_log(host="steamcommunity.com")
    assert {e["fault"] for e in logged} == {"request_filter"}


@pytest.mark.parametrize("headers, passes", [
    (BROWSER_HEADERS, True),
    ({**BROWSER_HEADERS, "User-Agent": "Mozilla/5.0 python-requests/2.34"}, False),  # not fooled by a prefix
    ({"User-Agent": BROWSER_HEADERS["User-Agent"], "Accept-Language": "en-US"}, True),  # requests adds Accept-Encoding
    ({"User-Agent": BROWSER_HEADERS["User-Agent"], "Accept-Encoding": "gzip"}, False),  # no Accept-Language
    ({"User-Agent": "Chrome/118.0", "Accept-Language": "en-US"}, False),
])
def test_a_browser_looking_request_passes(sandbox, headers, passes):
    resp = plain(sandbox, **headers).get("https://steamcommunity.com/")

    assert (resp.status_code == 200) is passes


def test_the_mobile_apps_user_agent_passes_on_mobileconf_only(sandbox):
    app = plain(sandbox, **{"User-Agent": "okhttp/4.9.2"})

    assert app.get("https://steamcommunity.com/mobileconf/getlist").json() == {"success": False, "needauth": True}
    assert app.get("https://steamcommunity.com/").status_code == 429


def test_the_control_api_and_the_other_hosts_are_never_filtered(sandbox):
    session = plain(sandbox)

    assert requests.get(f"{sandbox.url}/sandbox/health", headers={"Host": "steamcommunity.com"}).json()["ok"] is True
    assert session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1",
                       params={"key": sandbox.bot.api_key}).status_code == 200
    rsa_key = session.get("https://api.steampowered.com/IAuthenticationService/GetPasswordRSAPublicKey/v1",
                          params={"account_name": sandbox.bot.username})
    assert rsa_key.status_code == 200
    assert session.post("https://login.steampowered.com/jwt/finalizelogin").status_code != 429


def test_the_filter_can_be_switched_off_and_can_send_retry_after(sandbox):
    session = plain(sandbox)

    sandbox.set_config(requestFilterRetryAfterSeconds=30)
    refused = session.get(f"https://steamcommunity.com/inventory/{BOT}/730/2")
    sandbox.set_config(requestFilter=False)
    allowed = session.get("https://steamcommunity.com/")

    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "30")
    assert allowed.status_code == 200


def test_the_test_supports_clients_send_the_browser_profile(sandbox, sandbox_steampy):
    # steampy's whole flow (login, inventory, send) goes through with the filter on.
    sandbox.add_items(count=1)

    assert len(sandbox_steampy.get_my_inventory(GameOptions.CS, count=10)) == 1
    assert sandbox.steam_session().get("https://steamcommunity.com/").status_code == 200
    assert not [e for e in sandbox.requests_log(host="steamcommunity.com") if e["status"] == 429]
