"""Steam's endpoints, routed on Host + path, answering in Steam's own shapes (the
endpoint reference is docs/sandbox.md; the real captures they are checked against are
in tests/fixtures/steam/). One module per host: login (IAuthenticationService,
finalizelogin, settoken, logout, GenerateAccessTokenForApp), twofactor (QueryTime),
community and mobileconf (steamcommunity.com), webapi (api.steampowered.com's
IEconService and ISteamUser); profile is steamcommunity.com's request filter, which
the app applies before any route. Called with the state lock held.
"""

from __future__ import annotations

import re

from .. import pages
from ..web import Request, Response, html_response
from . import community, login, mobileconf, twofactor, webapi
from .context import API, COMMUNITY, LOGIN, SETTOKEN_HOSTS, STEAM_HOSTS, Ctx, not_found_page, null
from .profile import refused as request_filter

__all__ = ["API", "STEAM_HOSTS", "null", "request_filter", "route"]

_API_METHODS = {**login.API_METHODS, **twofactor.API_METHODS, **webapi.API_METHODS}
_INVENTORY = re.compile(r"^/inventory/(\d+)/(\d+)/(\d+)$")
_OFFER_PAGE = re.compile(r"^/tradeoffer/(\d+)$")
_OFFER_ACTION = re.compile(r"^/tradeoffer/(\d+)/(accept|cancel|decline)$")
_CONFIRMATION_DETAILS = re.compile(r"^/mobileconf/details/(\d+)$")


def route(app, req: Request) -> Response:
    ctx = Ctx(app, req)
    host, path, method = req.host, req.path, req.method
    if host == COMMUNITY:
        return _community(ctx, path, method)
    if host == API:
        return _api(ctx, path)
    if host == LOGIN:
        if path == "/jwt/finalizelogin" and method == "POST":
            return login.finalize_login(ctx)
        return not_found_page()
    if host in SETTOKEN_HOSTS:
        if path == "/login/settoken" and method == "POST":
            return login.settoken(ctx)
        if path == "/":
            return html_response(pages.plain_home(host))
        return not_found_page()
    return html_response(pages.page("Unknown host", f"<h1>The sandbox does not serve {host}</h1>"), 404)


def _community(ctx: Ctx, path: str, method: str) -> Response:
    if path == "/":
        return community.home(ctx)
    if path == "/login/settoken" and method == "POST":
        return login.settoken(ctx)
    if path == "/login/logout" and method == "POST":
        return login.logout(ctx)
    if m := _INVENTORY.match(path):
        return community.inventory(ctx, int(m[1]), int(m[2]), int(m[3]))
    if path == "/tradeoffer/new/send" and method == "POST":
        return community.send_offer(ctx)
    if path == "/tradeoffer/new" and method == "GET":
        return community.new_offer_page(ctx)
    if (m := _OFFER_ACTION.match(path)) and method == "POST":
        if m[2] == "accept":
            return community.accept_offer(ctx, int(m[1]))
        return community.cancel_or_decline_offer(ctx, int(m[1]), m[2])
    if (m := _OFFER_PAGE.match(path)) and method == "GET":
        return community.offer_page(ctx, int(m[1]))
    if path == "/trade/new/acknowledge" and method == "POST":
        return community.acknowledge(ctx)
    if path == "/mobileconf/getlist":
        return mobileconf.confirmation_list(ctx)
    if m := _CONFIRMATION_DETAILS.match(path):
        return mobileconf.confirmation_details(ctx, int(m[1]))
    if path == "/mobileconf/ajaxop" and method == "GET":
        return mobileconf.confirmation_op(ctx)
    if path == "/mobileconf/multiajaxop" and method == "POST":
        return mobileconf.confirmation_multi_op(ctx)
    if path == "/market/priceoverview":
        return community.price_overview(ctx)
    if path == "/market":
        return community.market_page(ctx)
    return not_found_page()


def _api(ctx: Ctx, path: str) -> Response:
    parts = path.strip("/").split("/")
    if len(parts) != 3:  # /<interface>/<method>/v<n>
        return not_found_page()
    interface, name, _version = parts
    handler = _API_METHODS.get((interface, name))
    if handler is None:
        return not_found_page()
    return handler(ctx)
