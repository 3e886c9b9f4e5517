"""steamcommunity.com's request filter (since July 2026): a request that does not
look like a browser, or like the mobile app on /mobileconf/, is answered 429 before
anything else looks at it. api. and login.steampowered.com are not filtered, nor is
the control API.

Browser-looking: a User-Agent that starts with `Mozilla/5.0` and does not contain
`python-requests`, plus Accept-Language and Accept-Encoding. The mobile app's
`okhttp/` User-Agent passes on /mobileconf/ (it sends no Accept-Language).
"""

from __future__ import annotations

from .. import pages
from ..web import Request, Response, html_response
from .context import COMMUNITY, null

TOO_MANY_REQUESTS = "You've made too many requests recently. Please wait and try your request again later."
# Paths whose answers are JSON: their 429 is a bare `null`, like Steam's other 429s.
_JSON_PATHS = ("/inventory/", "/mobileconf/", "/tradeoffer/new/send", "/trade/new/acknowledge", "/market/priceoverview")
_JSON_SUFFIXES = ("/accept", "/cancel", "/decline")


def looks_like_a_client(req: Request) -> bool:
    agent = req.header("User-Agent") or ""
    if agent.startswith("okhttp/") and req.path.startswith("/mobileconf/"):
        return True
    return (
        agent.startswith("Mozilla/5.0")
        and "python-requests" not in agent
        and bool(req.header("Accept-Language"))
        and bool(req.header("Accept-Encoding"))
    )


def refused(req: Request, config: dict) -> Response | None:
    """The filter's 429 for this request, or None when it may pass."""
    if req.host != COMMUNITY or not config["requestFilter"] or looks_like_a_client(req):
        return None
    path = req.path
    if path.startswith(_JSON_PATHS) or (path.startswith("/tradeoffer/") and path.endswith(_JSON_SUFFIXES)):
        resp = null(429)
    else:
        resp = html_response(pages.page("Error", f"<div class=\"error_ctn\"><h3>{TOO_MANY_REQUESTS}</h3></div>"), 429)
    if config["requestFilterRetryAfterSeconds"]:
        resp.header("Retry-After", str(config["requestFilterRetryAfterSeconds"]))
    return resp
