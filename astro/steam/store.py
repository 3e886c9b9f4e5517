"""The per-bot rows (`BotSession`): the refresh token (encrypted), the trade-protection
acknowledgement, Steam's time offset.

The gateway calls these outside any transaction of its callers (a Steam call never
runs inside one): a renewed refresh token must be committed as soon as Steam
issued it, because Steam has invalidated the old one. Database errors become
`SteamTransientError`: without the store no session can be made or kept.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DatabaseError, transaction

from astro.core import crypto
from astro.steam.errors import SteamTransientError
from astro.steam.models import BotSession
from astro.steam.tokens import NotASteamToken, TokenInfo, read_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredToken:
    steam_id: int
    refresh_token: str
    info: TokenInfo
    operator_digest: str


def digest(token: str) -> str:
    """A fingerprint of an operator's token: tells a newly handed one from the one stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _guarded(what: str):
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except DatabaseError as exc:
                raise SteamTransientError(f"{what}: the session store (PostgreSQL) is unavailable "
                                          f"({type(exc).__name__})") from None
        return run
    return decorate


def _row(*, realm: str, account_name: str | None = None, steam_id: int | None = None) -> BotSession | None:
    rows = BotSession.objects.filter(realm=realm)
    if steam_id is not None:
        return rows.filter(steam_id=steam_id).first()
    if account_name:
        return rows.filter(account_name=account_name.lower()).order_by("-updated_at").first()
    return None


@_guarded("reading the stored refresh token")
def stored_token(*, realm: str, account_name: str | None = None, steam_id: int | None = None) -> StoredToken | None:
    """The bot's stored refresh token for this realm, or None (none, or unreadable)."""
    row = _row(realm=realm, account_name=account_name, steam_id=steam_id)
    if row is None or not row.refresh_token_encrypted:
        return None
    try:
        token = crypto.decrypt(row.refresh_token_encrypted)
        info = read_token(token)
    except (crypto.DecryptionFailed, NotASteamToken) as exc:
        # A rotated-away key, or a corrupted row: as good as no token (the password logs in again).
        log.error("the stored Steam refresh token of %s cannot be used: %s", row.steam_id, exc)
        return None
    return StoredToken(steam_id=row.steam_id, refresh_token=token, info=info, operator_digest=row.operator_token_digest)


@_guarded("storing the refresh token")
def save_token(*, realm: str, account_name: str, refresh_token: str, info: TokenInfo, operator_digest: str = "") -> None:
    """Keep `refresh_token` (encrypted) as the bot's; a row of another realm is reset."""
    with transaction.atomic():
        row = BotSession.objects.select_for_update().filter(steam_id=info.steam_id).first()
        if row is None:
            row = BotSession(steam_id=info.steam_id)
        elif row.realm != realm:
            row = BotSession(steam_id=info.steam_id, created_at=row.created_at)  # nothing of another Steam carries over
        row.account_name = (account_name or "").lower()
        row.realm = realm
        row.refresh_token_encrypted = crypto.encrypt(refresh_token)
        row.token_type = info.platform
        row.refresh_token_expires_at = info.expires_at
        row.operator_token_digest = operator_digest
        row.save()


@_guarded("forgetting the refresh token")
def forget_token(*, realm: str, steam_id: int) -> None:
    """Steam refused the stored token: drop it (the next login uses the password)."""
    BotSession.objects.filter(realm=realm, steam_id=steam_id).update(
        refresh_token_encrypted="", token_type="", refresh_token_expires_at=None, updated_at=datetime.now(UTC),
    )


def _ensure_row(*, realm: str, steam_id: int, account_name: str | None) -> None:
    row = BotSession.objects.filter(steam_id=steam_id).first()
    if row is None:
        BotSession.objects.get_or_create(steam_id=steam_id, defaults={
            "realm": realm, "account_name": (account_name or "").lower()})
    elif row.realm != realm:
        BotSession.objects.filter(steam_id=steam_id).delete()
        BotSession.objects.create(steam_id=steam_id, realm=realm, account_name=(account_name or "").lower())


@_guarded("reading the trade-protection acknowledgement")
def acknowledged_at(*, realm: str, steam_id: int) -> datetime | None:
    row = _row(realm=realm, steam_id=steam_id)
    return row.trade_protection_acknowledged_at if row else None


@_guarded("recording the trade-protection acknowledgement")
def save_acknowledged(*, realm: str, steam_id: int, account_name: str | None) -> None:
    _ensure_row(realm=realm, steam_id=steam_id, account_name=account_name)
    BotSession.objects.filter(steam_id=steam_id).update(
        trade_protection_acknowledged_at=datetime.now(UTC), updated_at=datetime.now(UTC))


@_guarded("reading Steam's time offset")
def time_offset(*, realm: str, steam_id: int) -> tuple[int, datetime] | None:
    row = _row(realm=realm, steam_id=steam_id)
    if row is None or row.steam_time_offset_seconds is None or row.steam_time_checked_at is None:
        return None
    return row.steam_time_offset_seconds, row.steam_time_checked_at


@_guarded("storing Steam's time offset")
def save_time_offset(*, realm: str, steam_id: int, account_name: str | None, offset: int) -> None:
    _ensure_row(realm=realm, steam_id=steam_id, account_name=account_name)
    BotSession.objects.filter(steam_id=steam_id).update(
        steam_time_offset_seconds=offset, steam_time_checked_at=datetime.now(UTC), updated_at=datetime.now(UTC))
