"""Writes on Steam users: their rows, their trade URLs, and which systems deal with them."""

from __future__ import annotations

from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from astro.core.errors import InvalidInput, NotFound
from astro.core.steamids import account_id_of
from astro.steam.errors import SteamPermanentError
from astro.steam.parsing import parse_trade_url
from audit.services import record_event
from items.models import SteamUser, UserTradeUrl
from items.signals import trade_url_set


class InvalidTradeUrl(InvalidInput):
    code = "invalid_trade_url"
    message = "The trade URL is not a valid Steam trade offer URL for this user."


def trade_url_normalize(trade_url: str, *, steam_id: int) -> str:
    """Check a trade URL belongs to `steam_id` and return it in canonical form.

    Format: https://steamcommunity.com/tradeoffer/new/?partner=<accountid>&token=<token>,
    where accountid = steamid64 - 76561197960265728. Parsed by the
    same function the delivery engine uses before sending, so a URL accepted here
    is never refused there. An offer sent to a trade URL goes to the URL's owner,
    so a URL of another account would deliver the items to the wrong person:
    refuse it.
    """
    if not isinstance(trade_url, str) or len(trade_url) > 512:
        raise InvalidTradeUrl("Invalid trade URL: not a string of at most 512 characters.",
                              details={"field": "tradeUrl", "reason": "too_long"})
    try:
        parsed = parse_trade_url(trade_url)
    except SteamPermanentError as exc:
        raise InvalidTradeUrl(f"Invalid trade URL: {exc}.", details={"field": "tradeUrl", "reason": "malformed"}) from None
    account_id = account_id_of(steam_id)
    if parsed.account_id != account_id:
        raise InvalidTradeUrl(
            f"Invalid trade URL: its partner {parsed.account_id} is not {steam_id} (account id {account_id}).",
            details={"field": "tradeUrl", "reason": "other_account"},
        )
    return f"https://steamcommunity.com/tradeoffer/new/?partner={parsed.account_id}&token={parsed.token}"


def user_get_or_create(*, steam_id: int, actor: str, source: str, external_system: str | None = None) -> tuple[SteamUser, bool]:
    """The `users` row of `steam_id`, inserted (with a user.created event) when Astro first sees it.

    INSERT ... ON CONFLICT DO NOTHING: two requests for a new user at once create
    it once, and only the one that inserted records the event. Its profile is
    filled later from Steam.
    """
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users (steam_id, first_seen_at, last_seen_at, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (steam_id) DO NOTHING RETURNING steam_id",
                [steam_id, now, now, now, now],
            )
            created = cursor.fetchone() is not None
        if created:
            record_event(
                event_type="user.created", description=f"Steam user {steam_id} seen for the first time.",
                actor=actor, source=source, user_id=steam_id, external_system=external_system,
            )
        return SteamUser.objects.get(steam_id=steam_id), created


def user_link_system(*, steam_id: int, external_system: str) -> bool:
    """Record that `external_system` deals with this (existing) user: it has an
    assignment for them. Idempotent (INSERT ... ON CONFLICT DO NOTHING); the
    system's trade URL, if any, is left as it is. Returns whether the row is new."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO user_trade_urls (user_id, external_system, trade_url, created_at, updated_at)"
            " VALUES (%s, %s, NULL, %s, %s) ON CONFLICT (external_system, user_id) DO NOTHING RETURNING id",
            [steam_id, external_system, now, now],
        )
        return cursor.fetchone() is not None


def user_set_trade_url(
    *, steam_id: int, trade_url: str, actor: str, source: str, external_system: str | None = None,
    only_own_users: bool = False,
) -> SteamUser:
    """Validate and store a trade URL for a user (creating the user if new); `trade_url_set` is sent on commit.

    With `external_system`, the URL is that system's own (`user_trade_urls`): only
    that system reads it back, only its assignments are sent to it, and no other
    system's URL is touched. Without, it is the operator's (`users.trade_url`: the
    admin, a command, the demo): used for the assignments of systems that have no
    URL of their own for the user, and shown to no system.

    `only_own_users` (the API's PUT): a user Astro knows but this system has never
    dealt with is NotFound, the answer a system gets for any user that is not its
    own, and nothing is written. A user Astro has never seen is created.

    Setting the same URL again changes nothing and records nothing. The
    `user.trade_url_set` event goes to the system that set the URL (none for the
    operator's), without the token.
    """
    normalized = trade_url_normalize(trade_url, steam_id=steam_id)
    now = timezone.now()
    with transaction.atomic():
        _, created = user_get_or_create(steam_id=steam_id, actor=actor, source=source, external_system=external_system)
        if external_system is None:
            changed = (
                SteamUser.objects.filter(steam_id=steam_id)
                .exclude(trade_url=normalized)
                .update(trade_url=normalized, updated_at=now)
            )
        else:
            if only_own_users and not created and not UserTradeUrl.objects.filter(
                user_id=steam_id, external_system=external_system
            ).exists():
                raise NotFound("Astro has not seen this Steam user.", code="not_found")
            with connection.cursor() as cursor:
                # One statement decides insert, change or no change, whoever runs at the same time.
                cursor.execute(
                    "INSERT INTO user_trade_urls (user_id, external_system, trade_url, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (external_system, user_id) DO UPDATE"
                    " SET trade_url = EXCLUDED.trade_url, updated_at = EXCLUDED.updated_at"
                    " WHERE user_trade_urls.trade_url IS DISTINCT FROM EXCLUDED.trade_url RETURNING id",
                    [steam_id, external_system, normalized, now, now],
                )
                changed = cursor.fetchone() is not None
        if changed:
            # The token is a credential of sorts (it lets anyone send the user offers): not in the audit trail.
            record_event(
                event_type="user.trade_url_set", description=f"Trade URL of {steam_id} set.", actor=actor,
                source=source, user_id=steam_id, external_system=external_system,
                data={"partner": account_id_of(steam_id)},
            )
            # Deliveries waiting for a URL resume on this signal (assignments connects it).
            transaction.on_commit(
                partial(trade_url_set.send_robust, sender=SteamUser, steam_id=steam_id,
                        external_system=external_system),
                robust=True,
            )
        return SteamUser.objects.get(steam_id=steam_id)
