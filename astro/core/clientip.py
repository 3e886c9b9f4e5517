"""The client's address, trusting exactly the proxies the operator says are in front.

With TRUSTED_PROXY_COUNT = N, the last N entries of X-Forwarded-For were added by
our own proxies, so the client is the entry just before them (the address the
outermost trusted proxy saw). Anything further left was written by the client and
proves nothing. With N = 0 (no proxy) it is REMOTE_ADDR, and X-Forwarded-For is
ignored: a client could put any address there.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # The proxy next to us is REMOTE_ADDR; it appended the address it saw, and so on outwards.
    hops = forwarded + [remote]
    if len(hops) <= trusted:
        return hops[0]  # fewer hops than proxies configured: the outermost one we have
    candidate = hops[-trusted - 1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
