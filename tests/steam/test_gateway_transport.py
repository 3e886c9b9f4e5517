"""The transport adapter: Steam URLs reach the sandbox with their Host, cookies stay Steam's."""

from __future__ import annotations

import json

import brotli
import pytest
import requests

from astro.steam.transport import (
    BROWSER_PROFILE,
    STEAM_HOSTS,
    SandboxForwardingAdapter,
    TimeoutHTTPAdapter,
    dress_for_community,
    mount_transport,
)
from tests.steam.gateway_http import Canned, ProbeServer


@pytest.fixture
def probe():
    server = ProbeServer().start()
    yield server
    server.stop()


@pytest.fixture
def session(probe):
    s = requests.Session()
    mount_transport(s, mode="sandbox", sandbox_url=probe.url, timeout=5)
    return s


@pytest.mark.parametrize("host", STEAM_HOSTS)
def test_every_steam_host_is_forwarded_with_its_host_header(probe, session, host):
    probe.route(host, "/some/path", body={"ok": host})

    response = session.get(f"https://{host}/some/path", params={"l": "english", "count": 1000})

    assert response.json() == {"ok": host}
    (seen,) = probe.requests
    assert seen.host == host
    assert seen.path == "/some/path"
    assert seen.query == {"l": ["english"], "count": ["1000"]}
    # Everything above the adapter still sees the Steam URL.
    assert response.url == f"https://{host}/some/path?l=english&count=1000"
    assert response.request.url.startswith(f"https://{host}/")


def test_bare_host_url_gets_root_path(probe, session):
    # steampy requests SteamUrl.COMMUNITY_URL with no path at all.
    probe.route("steamcommunity.com", "/", body="<html>g_steamID = false;</html>")
    assert "g_steamID" in session.get("https://steamcommunity.com").text
    assert probe.requests[0].path == "/"


def test_post_form_reaches_the_sandbox(probe, session):
    probe.route("login.steampowered.com", "/jwt/finalizelogin", body={"ok": 1})
    session.post("https://login.steampowered.com/jwt/finalizelogin", data={"nonce": "n", "sessionid": "s"})
    assert probe.requests[0].method == "POST"
    assert probe.requests[0].form == {"nonce": ["n"], "sessionid": ["s"]}


def test_cookies_are_stored_on_the_steam_domain_and_sent_back_only_there(probe, session):
    # Steam sets host-only cookies, some Secure: they must work although the hop is plain http.
    probe.route("steamcommunity.com", "/", body="x", cookies=["sessionid=abc123; Path=/; Secure", "steamCountry=US%7Cx; Path=/"])
    probe.route("steamcommunity.com", "/next", body={})
    probe.route("store.steampowered.com", "/next", body={})

    session.get("https://steamcommunity.com/")
    session.get("https://steamcommunity.com/next")
    session.get("https://store.steampowered.com/next")

    assert session.cookies.get_dict(domain="steamcommunity.com", path="/") == {"sessionid": "abc123", "steamCountry": "US%7Cx"}
    assert session.cookies.get_dict(domain="127.0.0.1") == {}
    assert "sessionid=abc123" in probe.requests[1].headers.get("Cookie", "")
    assert "Cookie" not in probe.requests[2].headers


def test_redirects_stay_on_steam_hosts(probe, session):
    probe.route("steamcommunity.com", "/a", status=302, body="", headers={"Location": "/b"})
    probe.route("steamcommunity.com", "/b", status=302, body="", headers={"Location": "https://store.steampowered.com/c"})
    probe.route("store.steampowered.com", "/c", body={"end": True})

    response = session.get("https://steamcommunity.com/a")

    assert response.json() == {"end": True}
    assert [(r.host, r.path) for r in probe.requests] == [
        ("steamcommunity.com", "/a"), ("steamcommunity.com", "/b"), ("store.steampowered.com", "/c")]
    assert response.url == "https://store.steampowered.com/c"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/", "https://steamcommunity.com.evil.example/", "http://127.0.0.1:1/", "https://avatars.steamstatic.com/x.jpg"],
)
def test_sandbox_mode_refuses_every_other_host(probe, session, url):
    with pytest.raises(requests.ConnectionError, match="not a Steam host"):
        session.get(url)
    assert probe.requests == []


def test_every_request_gets_the_configured_timeout(probe):
    s = requests.Session()
    mount_transport(s, mode="sandbox", sandbox_url=probe.url, timeout=0.2)
    probe.route("steamcommunity.com", "/slow", handler=lambda r: Canned(body={}, delay=1.5))
    with pytest.raises(requests.ReadTimeout):
        s.get("https://steamcommunity.com/slow")


def test_sandbox_url_with_a_path_prefix(probe):
    s = requests.Session()
    mount_transport(s, mode="sandbox", sandbox_url=probe.url + "/prefix/", timeout=5)
    s.get("https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002")
    assert probe.requests[0].path == "/prefix/ISteamUser/GetPlayerSummaries/v0002"


def test_live_mode_keeps_steam_urls_and_adds_timeouts_without_retries():
    s = requests.Session()
    mount_transport(s, mode="live", sandbox_url="http://127.0.0.1:1", timeout=7)
    for host in STEAM_HOSTS:
        adapter = s.get_adapter(f"https://{host}/")
        assert type(adapter) is TimeoutHTTPAdapter
        assert not isinstance(adapter, SandboxForwardingAdapter)
        assert adapter.timeout == 7
        # A transport-level retry could send a trade offer twice.
        assert adapter.max_retries.total == 0


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        mount_transport(requests.Session(), mode="sandbox", sandbox_url=None, timeout=1)
    with pytest.raises(ValueError):
        mount_transport(requests.Session(), mode="sandbox", sandbox_url="ftp://x", timeout=1)
    with pytest.raises(ValueError):
        mount_transport(requests.Session(), mode="other", sandbox_url=None, timeout=1)


# ------------------------------------------------------------ the browser profile
def test_community_requests_wear_the_browser_profile_whatever_set_them(probe, session):
    probe.route("steamcommunity.com", "/inventory/1/730/2", body={"success": 1})
    probe.route("steamcommunity.com", "/tradeoffer/new/send", body={"tradeofferid": "1"})
    probe.route("api.steampowered.com", "/IEconService/GetTradeOffers/v1", body={"response": {}})

    session.get("https://steamcommunity.com/inventory/1/730/2", headers={"User-Agent": "python-requests/2.34"})
    session.post("https://steamcommunity.com/tradeoffer/new/send", data={"a": "b"},
                 headers={"Referer": "https://steamcommunity.com/tradeoffer/new/?partner=1"})
    session.get("https://api.steampowered.com/IEconService/GetTradeOffers/v1")

    page, send, api = probe.requests
    for seen in (page, send):
        for name, value in BROWSER_PROFILE.items():
            assert seen.headers[name] == value, name
        assert seen.headers["User-Agent"].startswith("Mozilla/5.0") and "python-requests" not in seen.headers["User-Agent"]
    assert "Origin" not in page.headers
    assert send.headers["Origin"] == "https://steamcommunity.com"  # POSTs, as a browser's form
    assert send.headers["Referer"] == "https://steamcommunity.com/tradeoffer/new/?partner=1"  # the caller's own kept
    # The Web API host is not the community's: nothing is dressed up there.
    assert api.headers["User-Agent"].startswith("python-requests") and "Sec-Fetch-Mode" not in api.headers


def test_an_xhr_may_keep_its_own_accept(probe, session):
    probe.route("steamcommunity.com", "/mobileconf/getlist", body={"success": True})
    session.get("https://steamcommunity.com/mobileconf/getlist", headers={"Accept": "application/json"})
    assert probe.requests[0].headers["Accept"] == "application/json"
    assert probe.requests[0].headers["Accept-Language"] == "en-US,en;q=0.9"


def test_only_encodings_requests_can_decode_are_advertised(probe, session):
    assert BROWSER_PROFILE["Accept-Encoding"] == "gzip, deflate, br"  # brotli is installed (requirements.txt)
    page = json.dumps({"success": 1, "assets": []}).encode()
    probe.route("steamcommunity.com", "/inventory/1/730/2", body=brotli.compress(page),
                headers={"Content-Encoding": "br", "Content-Type": "application/json"})
    assert session.get("https://steamcommunity.com/inventory/1/730/2").json() == {"success": 1, "assets": []}


def test_live_mode_dresses_community_requests_too():
    # Live Steam is never contacted by the suite: the live adapter is the same class, profile on.
    session = requests.Session()
    mount_transport(session, mode="live", sandbox_url=None, timeout=5)
    adapter = session.get_adapter("https://steamcommunity.com/")
    assert type(adapter) is TimeoutHTTPAdapter and adapter.profile is True
    request = requests.Request("POST", "https://steamcommunity.com/trade/new/acknowledge", data={"x": 1}).prepare()
    dress_for_community(request, "steamcommunity.com")
    assert request.headers["User-Agent"] == BROWSER_PROFILE["User-Agent"]
    assert request.headers["Origin"] == "https://steamcommunity.com"
