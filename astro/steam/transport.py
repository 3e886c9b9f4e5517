"""How the gateway's HTTP requests reach Steam: live, or the local sandbox.

This is the only place where live and sandbox mode differ. In sandbox mode a
`requests` adapter is mounted for every Steam host; it sends each request to
STEAM_SANDBOX_URL over plain http and keeps the original `Host` header (the
sandbox routes on it). The request object the session sees is untouched, so
every URL, every cookie domain (steampy reads cookies by domain) and steampy's
whole code path, login included, are exactly as against live Steam.
Requests to any other host are refused in sandbox mode, so a test
or a demo can never reach the real Steam or anything else by accident.

Both modes put a timeout on every request (steampy passes none) and never retry
at the transport level: a resent POST could create a second trade offer.

Both modes also dress every steamcommunity.com request, steampy's included, in one
browser's headers (`BROWSER_PROFILE`): since 2026-07 the community host answers 429
to requests that do not look like a browser (`python-requests`, no Accept-Language).
The profile is put on in the adapter, after steampy set its own headers, so no
code path can send a community request without it; POSTs also get Steam's Origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.request import ACCEPT_ENCODING

STEAM_HOSTS = (
    "steamcommunity.com",
    "api.steampowered.com",
    "login.steampowered.com",
    "store.steampowered.com",
    "help.steampowered.com",
    "steam.tv",
    "checkout.steampowered.com",
)


COMMUNITY_HOST = "steamcommunity.com"
COMMUNITY_ORIGIN = f"https://{COMMUNITY_HOST}"
# A desktop Firefox, header for header as ArchiSteamFarm sends it to pass the filter.
# Accept-Encoding lists only what urllib3 can decode here (br with the brotli package):
# advertising more would hand the JSON parser compressed bytes.
BROWSER_PROFILE = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:152.0) Gecko/20100101 Firefox/152.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": ", ".join(part.strip() for part in ACCEPT_ENCODING.split(",")),
    "DNT": "1",
    "Priority": "u=0, i",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
    "Sec-GPC": "1",
    "Upgrade-Insecure-Requests": "1",
}
# What a caller may set for itself (an XHR's Accept); the rest of the profile always wins.
_CALLER_MAY_SET = frozenset({"Accept"})
_REQUESTS_DEFAULT_ACCEPT = "*/*"


def dress_for_community(request: requests.PreparedRequest, host: str | None) -> None:
    """Put the browser profile on a request for steamcommunity.com (in place)."""
    if host != COMMUNITY_HOST:
        return
    for name, value in BROWSER_PROFILE.items():
        if name in _CALLER_MAY_SET and request.headers.get(name) not in (None, _REQUESTS_DEFAULT_ACCEPT):
            continue
        request.headers[name] = value
    if request.method == "POST" and not request.headers.get("Origin"):
        request.headers["Origin"] = COMMUNITY_ORIGIN


class TimeoutHTTPAdapter(HTTPAdapter):
    """An adapter that gives every request a timeout, never retries, and dresses
    community requests in the browser profile."""

    def __init__(self, *, timeout: float, profile: bool = True):
        super().__init__(max_retries=0)
        self.timeout = timeout
        self.profile = profile

    def send(self, request, **kwargs):
        if self.profile:
            dress_for_community(request, urlsplit(request.url).hostname)
        return self._send(request, **kwargs)

    def _send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class SandboxForwardingAdapter(TimeoutHTTPAdapter):
    """Send `https://<steam host>/<path>` to `<sandbox_url>/<path>` with `Host: <steam host>`."""

    def __init__(self, *, sandbox_url: str, timeout: float, profile: bool = True):
        super().__init__(timeout=timeout, profile=profile)
        base = urlsplit(sandbox_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"STEAM_SANDBOX_URL={sandbox_url!r} is not an http(s) URL")
        self._base = base

    def send(self, request, **kwargs):
        original = urlsplit(request.url)
        forwarded = request.copy()
        forwarded.url = urlunsplit(
            (
                self._base.scheme,
                self._base.netloc,
                self._base.path.rstrip("/") + (original.path or "/"),
                original.query,
                "",
            )
        )
        forwarded.headers["Host"] = original.netloc
        if self.profile:
            dress_for_community(forwarded, original.hostname)
        # Environment proxies were chosen for the Steam URL; the sandbox is local.
        kwargs["proxies"] = {}
        response = self._send(forwarded, **kwargs)
        # requests stores cookies and resolves redirects against response.request /
        # response.url: keep them on the Steam URL, as in live mode.
        response.request = request
        response.url = request.url
        return response


class RefusingAdapter(BaseAdapter):
    """Sandbox mode: any host that is not Steam's is refused, never contacted."""

    def send(self, request, **kwargs):
        host = urlsplit(request.url).hostname
        raise requests.ConnectionError(
            f"sandbox mode: refusing a request to {host!r}, which is not a Steam host", request=request
        )

    def close(self):
        pass


def mount_transport(session: requests.Session, *, mode: str, sandbox_url: str | None, timeout: float,
                    profile: bool = True) -> None:
    """Fit `session` for `mode` ("live" or "sandbox"). `profile=False` leaves community
    requests as `requests` makes them (only to show what Steam does to those)."""
    if mode == "live":
        adapter = TimeoutHTTPAdapter(timeout=timeout, profile=profile)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return
    if mode != "sandbox":
        raise ValueError(f"unknown STEAM_MODE {mode!r}")
    if not sandbox_url:
        raise ValueError("STEAM_MODE=sandbox needs STEAM_SANDBOX_URL")
    refuse = RefusingAdapter()
    session.mount("https://", refuse)
    session.mount("http://", refuse)
    forward = SandboxForwardingAdapter(sandbox_url=sandbox_url, timeout=timeout, profile=profile)
    for host in STEAM_HOSTS:
        # The trailing slash stops "steamcommunity.com.example.org" from matching;
        # requests always gives a bare host the path "/".
        session.mount(f"https://{host}/", forward)
        session.mount(f"http://{host}/", forward)
