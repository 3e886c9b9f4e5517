"""Steam's HTTP answers (or their absence) read into `SteamError`s, for the gateway's requests.

`errors.py` knows what Steam's codes mean; this module knows where a Steam
answer keeps them (status, `Retry-After`, `X-eresult`, a JSON `strError`) and
what a failed connection means. Exception texts from `requests` are never
used: they contain the URL, and with it the `access_token`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
import urllib3

from astro.steam.errors import (
    SteamPermanentError,
    SteamRateLimited,
    SteamSessionExpired,
    SteamTransientError,
    classify_eresult,
    clean_error_text,
    eresult_from_text,
    parse_retry_after,
)
from astro.steam.steampy_fixes import AstroSteamClient, RecordedResponse


def transport_error(exc: requests.RequestException, what: str) -> SteamTransientError:
    # Never str(exc): requests puts the URL, with its access_token, in the message.
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return SteamTransientError(f"{what}: {kind} ({type(exc).__name__})", code="steam_unreachable")


def nothing_was_sent(exc: requests.RequestException) -> bool:
    """True when the request never left: no connection was made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, urllib3.exceptions.NewConnectionError)


def request(client: AstroSteamClient, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
    """One request on the client's session; a failed connection is a transient error."""
    try:
        return client.session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(exc, what) from None


def raise_for_status(status: int, headers: Mapping[str, str | None], text: str, what: str, *,
                     forbidden_means_expired: bool) -> None:
    """Raise the error an HTTP status means; nothing for 1xx-3xx.

    `forbidden_means_expired`: a 403 where only a lost session explains it (our
    own inventory, mobileconf, a page of ours), not a refusal of the request.
    """
    if status == 429:
        raise SteamRateLimited(f"{what}: Steam answered 429 (too many requests)", status=429,
                               retry_after=parse_retry_after(headers.get("Retry-After")))
    if status == 401 or (status == 403 and forbidden_means_expired):
        raise SteamSessionExpired(f"{what}: Steam answered {status}: the session expired", status=status)
    if status >= 500:
        header = headers.get("X-eresult")
        eresult = int(header) if header and header.isdigit() else None
        detail = ""
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            detail = str(body.get("strError") or body.get("error") or "")
            eresult = eresult or eresult_from_text(detail)
        message = f"{what}: Steam answered HTTP {status}" + (f": {clean_error_text(detail)}" if detail else "")
        raise classify_eresult(eresult, message, status=status)
    if status >= 400:
        raise SteamPermanentError(f"{what}: Steam answered HTTP {status}", status=status)


def check(response: requests.Response, what: str, *, forbidden_means_expired: bool) -> None:
    raise_for_status(response.status_code, response.headers, response.text, what,
                     forbidden_means_expired=forbidden_means_expired)


def check_recorded(recorded: RecordedResponse | None, what: str, *, forbidden_means_expired: bool) -> None:
    """`check` for an answer steampy read itself (kept by the client's ResponseRecorder)."""
    if recorded is not None:
        headers = {"Retry-After": recorded.retry_after, "X-eresult": str(recorded.eresult or "")}
        raise_for_status(recorded.status, headers, recorded.text, what,
                         forbidden_means_expired=forbidden_means_expired)


def json_body(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON",
                                  status=response.status_code) from None
