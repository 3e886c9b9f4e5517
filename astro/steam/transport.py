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
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

STEAM_HOSTS = (
    "steamcommunity.com",
    "api.steampowered.com",
    "login.steampowered.com",
    "store.steampowered.com",
    "help.steampowered.com",
    "steam.tv",
    "checkout.steampowered.com",
)


class TimeoutHTTPAdapter(HTTPAdapter):
    """An adapter that gives every request a timeout and never retries."""

    def __init__(self, *, timeout: float):
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class SandboxForwardingAdapter(TimeoutHTTPAdapter):
    """Send `https://<steam host>/<path>` to `<sandbox_url>/<path>` with `Host: <steam host>`."""

    def __init__(self, *, sandbox_url: str, timeout: float):
        super().__init__(timeout=timeout)
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
        # Environment proxies were chosen for the Steam URL; the sandbox is local.
        kwargs["proxies"] = {}
        response = super().send(forwarded, **kwargs)
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


def mount_transport(session: requests.Session, *, mode: str, sandbox_url: str | None, timeout: float) -> None:
    """Fit `session` for `mode` ("live" or "sandbox")."""
    if mode == "live":
        adapter = TimeoutHTTPAdapter(timeout=timeout)
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
    forward = SandboxForwardingAdapter(sandbox_url=sandbox_url, timeout=timeout)
    for host in STEAM_HOSTS:
        # The trailing slash stops "steamcommunity.com.example.org" from matching;
        # requests always gives a bare host the path "/".
        session.mount(f"https://{host}/", forward)
        session.mount(f"http://{host}/", forward)
