"""Logins and web sessions: IAuthenticationService's pending logins, the refresh
token's session per bot, and the access tokens (steamLoginSecure) derived from it.

Tokens are JWT-shaped and signed by the sandbox (crypto.TokenSigner): a session is
named by its refresh token's `jti`, an access token points at it with `iss` "r:<jti>",
and both carry the bot's steamid in `sub`, which is what sessions are keyed by.
Expiry is checked against real time (the client's clock), not the sandbox clock.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

from ..account import BotAccount
from ..crypto import LoginKey, TokenSigner, totp_valid
from ..enums import EResult
from .shared import Versions

_PENDING_LOGIN_SECONDS = 600
_REFRESH_TOKEN_SECONDS = 200 * 86400


class Sessions:
    def __init__(self, *, bots: Mapping[int, BotAccount], signer: TokenSigner, login_key: LoginKey, config: dict,
                 versions: Versions):
        self._bots = bots
        self._signer = signer
        self._login_key = login_key
        self._config = config
        self._versions = versions
        # Pending logins by client_id, the only name PollAuthSessionStatus gives
        # (each records its bot). Short-lived, so never saved.
        self.pending: dict[str, dict] = {}
        # bot steamid -> refresh token jti -> {"steamid", "created", "revoked"}
        self.by_bot: dict[int, dict[str, dict]] = {}

    # ------------------------------------------------------------------ logging in
    def begin(self, account_name: str, encrypted_password: str, timestamp: str) -> dict | None:
        """BeginAuthSessionViaCredentials: a pending login, or None for wrong credentials."""
        bot = next((b for b in self._bots.values() if b.username.lower() == account_name.lower()), None)
        if bot is None or timestamp != self._login_key.timestamp:
            return None
        if self._login_key.decrypt_password(encrypted_password) != bot.password:
            return None
        now = int(time.time())
        for client_id in [c for c, s in self.pending.items() if now - s["created"] > _PENDING_LOGIN_SECONDS]:
            del self.pending[client_id]
        client_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        login = {
            "client_id": client_id,
            "request_id": secrets.token_urlsafe(12),
            "steamid": bot.steam_id,
            "confirmed": False,
            "created": now,
        }
        self.pending[client_id] = login
        return login

    def confirm_code(self, client_id: str, steamid: str, code: str) -> EResult:
        """UpdateAuthSessionWithSteamGuardCode: the TOTP of the bot's shared secret."""
        login = self.pending.get(client_id)
        if login is None or str(login["steamid"]) != str(steamid):
            return EResult.InvalidParam
        if not totp_valid(self._bots[login["steamid"]].shared_secret, code, int(time.time())):
            return EResult.TwoFactorCodeMismatch
        login["confirmed"] = True
        return EResult.OK

    def poll(self, client_id: str, request_id: str) -> dict | None:
        """PollAuthSessionStatus: None for an unknown login, {} while the code is missing,
        else the new session's tokens (the login is over)."""
        login = self.pending.get(client_id)
        if login is None or login["request_id"] != request_id:
            return None
        if not login["confirmed"]:
            return {}
        del self.pending[client_id]
        now = int(time.time())
        jti = secrets.token_hex(8).upper()
        bot = login["steamid"]
        steamid = str(bot)
        self.by_bot.setdefault(bot, {})[jti] = {"steamid": bot, "created": now, "revoked": False}
        self._versions.touch()
        refresh = self._signer.issue({
            "iss": "steam", "sub": steamid, "aud": ["web", "renew", "derive"], "exp": now + _REFRESH_TOKEN_SECONDS,
            "nbf": now, "iat": now, "jti": jti, "oat": now, "per": 1,
            "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })
        return {
            "refresh_token": refresh,
            "access_token": self.issue_access_token(jti, steamid, "web"),
            "jti": jti,
            "account_name": self._bots[bot].username,
        }

    def issue_access_token(self, jti: str, steamid: str, audience: str) -> str:
        now = int(time.time())
        return self._signer.issue({
            "iss": f"r:{jti}", "sub": steamid, "aud": ["web", audience] if audience != "web" else ["web"],
            "exp": now + self._config["accessTokenLifetimeSeconds"], "nbf": now, "iat": now,
            "jti": secrets.token_hex(8).upper(), "oat": now, "rt_exp": now + _REFRESH_TOKEN_SECONDS, "per": 0,
            "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })

    # ------------------------------------------------------------------ sessions
    def live(self, steamid, jti: str) -> dict | None:
        """The bot's session named `jti`, unless revoked."""
        session = self.by_bot.get(_steamid(steamid), {}).get(jti)
        return session if session is not None and not session["revoked"] else None

    def refresh(self, refresh_token: str) -> tuple[str, str] | None:
        """(jti, steamid) of a live refresh token."""
        claims = self._signer.verify(refresh_token)
        if not claims or claims.get("iss") != "steam" or claims.get("exp", 0) < time.time():
            return None
        if self.live(claims.get("sub"), str(claims.get("jti"))) is None:
            return None
        return str(claims["jti"]), str(claims["sub"])

    def _session_of_access_token(self, access_token: str) -> tuple[dict, dict] | None:
        """(claims, session) of an access token we signed; expiry is the caller's check."""
        claims = self._signer.verify(access_token)
        if not claims or not str(claims.get("iss", "")).startswith("r:"):
            return None
        session = self.by_bot.get(_steamid(claims.get("sub")), {}).get(claims["iss"][2:])
        return (claims, session) if session is not None else None

    def owner_of(self, access_token: str) -> int | None:
        """The bot steamid of a live access token (signed by us, not expired, session not revoked)."""
        found = self._session_of_access_token(access_token)
        if found is None:
            return None
        claims, session = found
        if claims.get("exp", 0) < time.time() or session["revoked"]:
            return None
        return int(session["steamid"])

    def revoke(self, access_token: str) -> None:
        """Log out: the session the access token belongs to dies (even if the token expired)."""
        found = self._session_of_access_token(access_token)
        if found:
            _, session = found
            session["revoked"] = True
            self._versions.touch()

    def expire_all(self) -> int:
        """Every web session dies at once (the fault Steam produces now and then)."""
        count = 0
        for sessions in self.by_bot.values():
            for session in sessions.values():
                if not session["revoked"]:
                    session["revoked"] = True
                    count += 1
        self.pending.clear()
        self._versions.touch()
        return count

    def live_count(self, bot: int) -> int:
        return sum(1 for s in self.by_bot.get(bot, {}).values() if not s["revoked"])

    # ------------------------------------------------------------------ persistence
    def dump(self) -> dict:
        return {"sessions": {str(bot): sessions for bot, sessions in self.by_bot.items()}}

    def restore(self, core: dict) -> None:
        self.by_bot = {int(bot): sessions for bot, sessions in core.get("sessions", {}).items()}


def _steamid(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
