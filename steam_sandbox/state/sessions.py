"""Logins and sessions on refresh tokens: IAuthenticationService's pending logins, the
refresh token's session per bot, and the access tokens derived from it.

Tokens are JWT-shaped and signed by the sandbox (crypto.TokenSigner), typed like
Steam's: `aud` ["web", "renew", "derive"] for a browser's refresh token and
["web", "mobile", "renew", "derive"] for the mobile app's; access tokens ["web"]
(or ["web", "web:<host>"] from settoken) and ["web", "mobile"]. A session is named
by its refresh token's `jti`, an access token points at it with `iss` "r:<jti>", and
both carry the bot's steamid in `sub`, which is what sessions are keyed by. Lifetimes
run on Steam Guard's clock (shared.AuthClock).

A session record: {"steamid", "created", "revoked", "platform" ("web"|"mobile"),
"refresh_expires", "replaced"}. `revoked` (a logout, the control API) kills the
session's every token; `replaced` (a renewed refresh token) and an expired refresh
token only stop renewing: the access tokens already out live until their `exp`.
Sessions saved before platforms existed are web sessions.
"""

from __future__ import annotations

import base64
import secrets
from collections import deque
from collections.abc import Mapping

from ..account import BotAccount
from ..crypto import LoginKey, TokenSigner, totp_valid
from ..enums import EResult
from .shared import AuthClock, Changes

_PENDING_LOGIN_SECONDS = 600
_WEAK_TOKEN_SECONDS = 600
_MINTED_KEPT = 200  # per bot, for tests to read back
WEB, MOBILE = "web", "mobile"
_REFRESH_AUDIENCE = {WEB: ["web", "renew", "derive"], MOBILE: ["web", "mobile", "renew", "derive"]}


class Sessions:
    def __init__(self, *, bots: Mapping[int, BotAccount], signer: TokenSigner, login_key: LoginKey, config: dict,
                 changes: Changes, auth_clock: AuthClock):
        self._bots = bots
        self._signer = signer
        self._login_key = login_key
        self._config = config
        self._changes = changes
        self._clock = auth_clock
        # Pending logins by client_id, the only name PollAuthSessionStatus gives
        # (each records its bot). Short-lived, so never saved.
        self.pending: dict[str, dict] = {}
        # bot steamid -> refresh token jti -> session record (see the module doc)
        self.by_bot: dict[int, dict[str, dict]] = {}
        # bot steamid -> the tokens minted lately (not saved: for tests to read back)
        self.minted: dict[int, deque] = {}

    # ------------------------------------------------------------------ logging in
    def begin(self, account_name: str, encrypted_password: str, timestamp: str, *, platform: str = WEB) -> dict | None:
        """BeginAuthSessionViaCredentials: a pending login, or None for wrong credentials."""
        bot = next((b for b in self._bots.values() if b.username.lower() == account_name.lower()), None)
        if bot is None or timestamp != self._login_key.timestamp:
            return None
        if self._login_key.decrypt_password(encrypted_password) != bot.password:
            return None
        now = self._clock.now()
        for client_id in [c for c, s in self.pending.items() if abs(now - s["created"]) > _PENDING_LOGIN_SECONDS]:
            del self.pending[client_id]
        client_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        login = {
            "client_id": client_id,
            # bytes on the wire; the JSON form carries them in base64
            "request_id": base64.b64encode(secrets.token_bytes(16)).decode(),
            "steamid": bot.steam_id,
            "confirmed": False,
            "created": now,
            "platform": platform,
            "not_ready_left": self._config["pollNotReadyCount"],
        }
        self.pending[client_id] = login
        return login

    def weak_token(self, login: dict) -> str:
        return self._signer.issue({"iss": "steam", "sub": str(login["steamid"]), "aud": ["web"], "weak": True,
                                   "exp": self._clock.now() + _WEAK_TOKEN_SECONDS, "jti": _jti()})

    def confirm_code(self, client_id: str, steamid: str, code: str) -> EResult:
        """UpdateAuthSessionWithSteamGuardCode: the TOTP of the bot's shared secret."""
        login = self.pending.get(client_id)
        if login is None or str(login["steamid"]) != str(steamid):
            return EResult.InvalidParam
        if not totp_valid(self._bots[login["steamid"]].shared_secret, code, self._clock.now()):
            return EResult.TwoFactorCodeMismatch
        login["confirmed"] = True
        return EResult.OK

    def poll(self, client_id: str, request_id: str) -> dict | None:
        """PollAuthSessionStatus: None for an unknown login, {} while not ready (the
        code is missing, or Steam takes `pollNotReadyCount` polls), else the new
        session's tokens (the login is over)."""
        login = self.pending.get(client_id)
        if login is None or login["request_id"] != request_id:
            return None
        if not login["confirmed"]:
            return {}
        if login["not_ready_left"] > 0:
            login["not_ready_left"] -= 1
            return {}
        del self.pending[client_id]
        bot = login["steamid"]
        jti, refresh = self._new_session(bot, login["platform"])
        return {
            "refresh_token": refresh,
            "access_token": self._access_token(bot, jti, login["platform"]),
            "jti": jti,
            "account_name": self._bots[bot].username,
        }

    def _new_session(self, bot: int, platform: str) -> tuple[str, str]:
        now = self._clock.now()
        jti = _jti()
        expires = now + self._config["refreshTokenLifetimeSeconds"]
        self.by_bot.setdefault(bot, {})[jti] = {
            "steamid": bot, "created": now, "revoked": False, "platform": platform, "refresh_expires": expires,
            "replaced": False,
        }
        self._changes.touch("session", bot, jti)
        refresh = self._signer.issue({
            "iss": "steam", "sub": str(bot), "aud": list(_REFRESH_AUDIENCE[platform]), "exp": expires,
            "nbf": now - 100 * 86400, "iat": now, "jti": jti, "oat": now, "per": 1,
            "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })
        self._remember(bot, "refresh", platform, jti, refresh)
        return jti, refresh

    def _access_token(self, bot: int, jti: str, platform: str, audience: str | None = None) -> str:
        now = self._clock.now()
        session = self.by_bot[bot][jti]
        aud = ["web", "mobile"] if platform == MOBILE else ["web"]
        if audience and audience not in aud:
            aud.append(audience)
        token = self._signer.issue({
            "iss": f"r:{jti}", "sub": str(bot), "aud": aud,
            "exp": now + self._config["accessTokenLifetimeSeconds"], "nbf": now, "iat": now, "jti": _jti(), "oat": now,
            "rt_exp": session.get("refresh_expires", now), "per": 0, "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1",
        })
        self._remember(bot, "access", platform, jti, token)
        return token

    def issue_access_token(self, jti: str, steamid: str, audience: str) -> str:
        """settoken's per-host token ("web:community", ...) for a live session."""
        bot = int(steamid)
        return self._access_token(bot, jti, self.by_bot[bot][jti].get("platform", WEB), audience)

    def _remember(self, bot: int, kind: str, platform: str, jti: str, token: str) -> None:
        claims = self._signer.verify(token) or {}
        self.minted.setdefault(bot, deque(maxlen=_MINTED_KEPT)).append({
            "kind": kind, "platform": platform, "session": jti, "token": token,
            "aud": claims.get("aud"), "iss": claims.get("iss"), "iat": claims.get("iat"), "exp": claims.get("exp"),
        })

    # ------------------------------------------------------------------ renewing
    def generate_access_token(self, refresh_token: str, steamid: str, renewal_type: int) -> tuple[EResult, dict]:
        """GenerateAccessTokenForApp: (eresult, {"access_token", "refresh_token"?}).

        Only a live, unexpired, never replaced refresh token of a mobile-app session
        renews (with `mobileOnlyTokenRenewal`; else a browser's does too). With
        renewal_type 1 and `renewRefreshToken` "always" it also comes with a new
        refresh token, and the old one is spent."""
        claims = self._signer.verify(refresh_token)
        if not claims or claims.get("iss") != "steam" or "derive" not in (claims.get("aud") or []):
            return EResult.InvalidParam, {}
        if str(claims.get("sub")) != str(steamid).strip():
            return EResult.InvalidParam, {}
        bot = _steamid(claims.get("sub"))
        session = self.by_bot.get(bot, {}).get(str(claims.get("jti")))
        if session is None or session["revoked"] or session.get("replaced") or self._refresh_expired(claims, session):
            return EResult.AccessDenied, {}
        platform = session.get("platform", WEB)
        if platform != MOBILE and self._config["mobileOnlyTokenRenewal"]:
            return EResult.AccessDenied, {}
        jti = str(claims["jti"])
        answer = {}
        if renewal_type == 1 and self._config["renewRefreshToken"] == "always":
            session["replaced"] = True
            self._changes.touch("session", bot, jti)
            jti, answer["refresh_token"] = self._new_session(bot, platform)
        answer = {"access_token": self._access_token(bot, jti, platform), **answer}
        return EResult.OK, answer

    def _refresh_expired(self, claims: dict, session: dict) -> bool:
        now = self._clock.now()
        return claims.get("exp", 0) <= now or session.get("refresh_expires", 2**62) <= now

    # ------------------------------------------------------------------ sessions
    def live(self, steamid, jti: str) -> dict | None:
        """The bot's session named `jti`, unless revoked."""
        session = self.by_bot.get(_steamid(steamid), {}).get(jti)
        return session if session is not None and not session["revoked"] else None

    def refresh(self, refresh_token: str) -> tuple[str, str] | None:
        """(jti, steamid) of a live refresh token (finalizelogin's nonce)."""
        claims = self._signer.verify(refresh_token)
        if not claims or claims.get("iss") != "steam":
            return None
        session = self.live(claims.get("sub"), str(claims.get("jti")))
        if session is None or session.get("replaced") or self._refresh_expired(claims, session):
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
        """The bot steamid of a live web access token (signed by us, `aud` with "web",
        not expired, session not revoked): a steamLoginSecure cookie or a Web API
        access_token, whether it came from settoken or straight from the mobile app."""
        found = self._session_of_access_token(access_token)
        if found is None:
            return None
        claims, session = found
        aud = claims.get("aud")
        if aud is not None and "web" not in aud:
            return None
        if claims.get("exp", 0) < self._clock.now() or session["revoked"]:
            return None
        return int(session["steamid"])

    def revoke(self, access_token: str) -> None:
        """Log out: the session the access token belongs to dies (even if the token expired)."""
        found = self._session_of_access_token(access_token)
        if found:
            claims, session = found
            session["revoked"] = True
            self._changes.touch("session", int(session["steamid"]), claims["iss"][2:])

    def expire_all(self) -> int:
        """Every web session dies at once (the fault Steam produces now and then)."""
        count = sum(self.revoke_all(bot) for bot in list(self.by_bot))
        self.pending.clear()
        self._changes.touch()
        return count

    def revoke_all(self, bot: int) -> int:
        """Every session of the bot dies, its tokens with it."""
        count = 0
        for jti, session in self.by_bot.get(bot, {}).items():
            if not session["revoked"]:
                session["revoked"] = True
                self._changes.touch("session", bot, jti)
                count += 1
        return count

    def expire_refresh_tokens(self, bot: int) -> int:
        """The bot's refresh tokens expire now (their access tokens live on until their `exp`)."""
        now = self._clock.now()
        count = 0
        for jti, session in self.by_bot.get(bot, {}).items():
            if not session["revoked"] and session.get("refresh_expires", 2**62) > now:
                session["refresh_expires"] = now
                self._changes.touch("session", bot, jti)
                count += 1
        return count

    def live_count(self, bot: int) -> int:
        return sum(1 for s in self.by_bot.get(bot, {}).values() if not s["revoked"])

    def minted_of(self, bot: int) -> list[dict]:
        return list(self.minted.get(bot, ()))

    # ------------------------------------------------------------------ persistence
    def dump(self) -> dict:
        return {"sessions": {str(bot): sessions for bot, sessions in self.by_bot.items()}}

    def restore(self, core: dict) -> None:
        self.by_bot = {int(bot): sessions for bot, sessions in core.get("sessions", {}).items()}

    def restore_one(self, bot: int, jti: str, session: dict | None) -> None:
        if session is None:
            self.by_bot.get(bot, {}).pop(jti, None)
        else:
            self.by_bot.setdefault(bot, {})[jti] = session


def _jti() -> str:
    return secrets.token_hex(8).upper()


def _steamid(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
