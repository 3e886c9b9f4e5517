"""What every Steam route shares: the hosts, the request context (state, request,
who is logged in, cookies) and Steam's answer shapes."""

from __future__ import annotations

import re
import secrets

from .. import pages
from ..account import BotAccount
from ..enums import EResult
from ..state import SandboxState
from ..web import Request, Response, html_response, json_response, unquote_cookie

COMMUNITY = "steamcommunity.com"
API = "api.steampowered.com"
LOGIN = "login.steampowered.com"
STORE = "store.steampowered.com"
# settoken hosts of finalizelogin's transfer_info, with the audience of their token.
SETTOKEN_HOSTS = {
    COMMUNITY: "web:community",
    STORE: "web:store",
    "help.steampowered.com": "web:help",
    "steam.tv": "web:tv",
    "checkout.steampowered.com": "web:checkout",
}
STEAM_HOSTS = frozenset({COMMUNITY, API, LOGIN, *SETTOKEN_HOSTS})


class Ctx:
    """What a route needs: the state, the request, and cookie policy. The auth
    decorators (auth.py) fill `bot` with the bot the request proved to be, and
    `by_api_key` when a Web API call proved it with a key, not an access token."""

    def __init__(self, app, req: Request):
        self.app = app
        self.state: SandboxState = app.state
        self.req = req
        self.bot: BotAccount | None = None
        self.by_api_key = False

    def login_cookie(self) -> tuple[str, str]:
        """(steamid, access token) of the steamLoginSecure cookie ("<steamid>||<token>")."""
        steamid, _, token = unquote_cookie(self.req.cookies.get("steamLoginSecure", "")).partition("||")
        return steamid, token

    def viewer(self) -> int | None:
        """The steamid logged in by this request's steamLoginSecure cookie, if live."""
        steamid, token = self.login_cookie()
        if not token:
            return None
        owner = self.state.sessions.owner_of(token)
        return owner if owner is not None and str(owner) == steamid else None

    def sessionid(self, resp: Response) -> str:
        """The community CSRF cookie; set (with steamCountry) when the browser has none."""
        sid = self.req.cookies.get("sessionid")
        if sid and re.fullmatch(r"[0-9a-f]{24}", sid):
            return sid
        sid = secrets.token_hex(12)
        resp.cookie("sessionid", sid, secure=self.app.secure_cookies)
        if "steamCountry" not in self.req.cookies:
            resp.cookie("steamCountry", "US%7C" + secrets.token_hex(16), secure=self.app.secure_cookies, http_only=True)
        return sid

    def csrf_ok(self) -> bool:
        sent = self.req.arg("sessionid")
        return bool(sent) and sent == self.req.cookies.get("sessionid")


# ---------------------------------------------------------------- answers
def steam_json(value, *, eresult: int = EResult.OK, status: int = 200) -> Response:
    """A Web API answer: the JSON, and the EResult in Steam's X-eresult header."""
    resp = json_response(value, status)
    resp.header("X-eresult", str(int(eresult)))
    return resp


def null(status: int) -> Response:
    """The literal `null` body Steam gives with 400/401/403/429."""
    return json_response("null", status)


def not_found_page() -> Response:
    return html_response(pages.page("Not Found", "<h1>Not Found</h1>"), 404)


# ---------------------------------------------------------------- query values
def flag(value: str | None) -> bool:
    """A Web API boolean: Steam takes 1 and true (any case)."""
    return (value or "").strip().lower() in ("1", "true")


def to_int(value, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
