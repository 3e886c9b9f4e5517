"""What a Steam JWT says about itself: whose it is, what it is for, when it ends.

Steam's tokens are EdDSA-signed JWTs. Astro never verifies the signature (Steam
does, on every use); it only reads the claims to decide what to do with a token:

- `aud` names the platform it was issued to: `["web", "mobile", ...]` for the mobile
  app (the only kind GenerateAccessTokenForApp renews over HTTP), `["web", ...]` for
  a browser, `["web", "client", ...]` for the Steam client;
- `iss` is `"steam"` for a refresh token (whose `aud` also has `derive`), and
  `"r:<refresh jti>"` for an access token derived from one;
- `sub` is the steamid64, `exp` the end (access ~24 h, refresh ~200 days).

Token texts never go into a log or an exception message.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

MOBILE = "mobile"
WEB = "web"
CLIENT = "client"


class NotASteamToken(ValueError):
    """The text is not a JWT with Steam's claims (the message never holds the text)."""


@dataclass(frozen=True)
class TokenInfo:
    steam_id: int
    audience: tuple[str, ...]
    expires_at: datetime | None
    is_refresh: bool

    @property
    def platform(self) -> str:
        """"mobile", "client" or "web": the platform the token was issued to."""
        if MOBILE in self.audience:
            return MOBILE
        if CLIENT in self.audience:
            return CLIENT
        return WEB

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds() <= seconds


def read_token(token: str) -> TokenInfo:
    """The claims of a Steam JWT; NotASteamToken when it is not one."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3:
        raise NotASteamToken("not a JWT (three dot-separated parts)")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeError):
        raise NotASteamToken("the JWT's claims are not base64url JSON") from None
    if not isinstance(claims, dict):
        raise NotASteamToken("the JWT's claims are not an object")
    subject = str(claims.get("sub") or "")
    if not subject.isdigit():
        raise NotASteamToken("the JWT names no steamid (sub)")
    audience = claims.get("aud") or []
    if isinstance(audience, str):
        audience = [audience]
    expires = claims.get("exp")
    return TokenInfo(
        steam_id=int(subject),
        audience=tuple(str(a) for a in audience),
        expires_at=datetime.fromtimestamp(int(expires), tz=UTC) if isinstance(expires, (int, float)) else None,
        is_refresh=claims.get("iss") == "steam" or "derive" in audience,
    )
