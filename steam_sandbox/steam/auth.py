"""Who may call a Steam route, as decorators: each checks the request's proof of
being a bot, answers what Steam answers when it is missing or wrong, and otherwise
calls the route with `ctx.bot` set to that bot.

- `web_api`: api.steampowered.com's `access_token` or `key`.
- `bot_session(status)`: steamcommunity.com POSTs made with the bot's session cookie
  and CSRF `sessionid`.
- `mobile_confirmation(tags)`: mobileconf's device id and HMAC of the identity secret,
  at Steam Guard's time (shared.AuthClock).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection

from ..crypto import confirmation_key, device_id, same
from ..web import Response, html_response, json_response
from .context import Ctx, null, to_int

Route = Callable[..., Response]

INVALID_KEY_HTML = (
    "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. "
    "Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>"
)
UNAUTHORIZED_HTML = (
    "<html><head><title>Unauthorized</title></head><body><h1>Unauthorized</h1>"
    "Access to this resource is restricted.</body></html>"
)
INVALID_AUTHENTICATOR = {
    "success": False,
    "message": "Invalid authenticator",
    "detail": (
        "It looks like your Steam Guard Mobile Authenticator is providing incorrect Steam Guard codes. "
        "This could be caused by an inaccurate clock or bad timezone settings on your device. If your time "
        "settings are correct, it could be that a different device has been set up to provide the Steam Guard "
        "codes for your account, which means the authenticator on this device is no longer valid."
    ),
}
# How far the `t` of a mobileconf request may be from Steam's time (QueryTime's
# skew_tolerance_seconds).
CONFIRMATION_TIME_WINDOW = 60


def web_api(route: Route) -> Route:
    """An `access_token` must belong to a live bot session (else 401); without one, `key`
    must be a bot's API key (else Steam's 403 "Please verify your key= parameter").
    `ctx.by_api_key` tells the route which it was: a key sees less (no CS2 offers).
    The call counts for the bot (state.counters), under the method's name."""

    @functools.wraps(route)
    def checked(ctx: Ctx, *args) -> Response:
        state, req = ctx.state, ctx.req
        token = req.arg("access_token")
        if token is not None:
            bot = state.bots.get(state.sessions.owner_of(token))
            if bot is None:
                return html_response(UNAUTHORIZED_HTML, 401)
            ctx.by_api_key = False
        else:
            key = req.arg("key")
            bot = state.bot_with_api_key(key) if key is not None else None
            if bot is None:
                return html_response(INVALID_KEY_HTML, 403)
            ctx.by_api_key = True
        ctx.bot = bot
        parts = req.path.strip("/").split("/")  # /<interface>/<method>/v<n>
        state.counters.count(bot.steam_id, parts[1] if len(parts) > 1 else req.path)
        return route(ctx, *args)

    return checked


def bot_session(refused_status: int) -> Callable[[Route], Route]:
    """The steamLoginSecure cookie must be a live bot session and the form's `sessionid`
    the CSRF cookie; else `null` with `refused_status` (Steam: 401, 403 for accept)."""

    def decorate(route: Route) -> Route:
        @functools.wraps(route)
        def checked(ctx: Ctx, *args) -> Response:
            bot = ctx.state.bots.get(ctx.viewer())
            if bot is None or not ctx.csrf_ok():
                return null(refused_status)
            ctx.bot = bot
            return route(ctx, *args)

        return checked

    return decorate


def mobile_confirmation(tags: Callable[..., Collection[str] | None]) -> Callable[[Route], Route]:
    """mobileconf's checks: a live bot session (else `needauth`), then `a` (the bot's
    steamid), `p` (its device id), `t` (time), `tag` among `tags(ctx, *args)` and
    `k` (HMAC of the identity secret over t and tag); else "Invalid authenticator".
    `tags` answering None refuses the request as malformed before any check."""

    def decorate(route: Route) -> Route:
        @functools.wraps(route)
        def checked(ctx: Ctx, *args) -> Response:
            allowed = tags(ctx, *args)
            if allowed is None:
                return json_response({"success": False})
            req = ctx.req
            bot = ctx.state.bots.get(ctx.viewer())
            if bot is None:
                return json_response({"success": False, "needauth": True})
            tag = req.arg("tag") or ""
            t = to_int(req.arg("t"))
            proven = (
                req.arg("a") == str(bot.steam_id)
                and req.arg("p") == device_id(bot.steam_id)
                and t is not None
                and abs(t - ctx.state.auth_clock.now()) <= CONFIRMATION_TIME_WINDOW
                and tag in allowed
                and same(req.arg("k") or "", confirmation_key(bot.identity_secret, t, tag))
            )
            if not proven:
                return json_response(dict(INVALID_AUTHENTICATOR))
            ctx.bot = bot
            return route(ctx, *args)

        return checked

    return decorate
