"""Steam profiles of the users Astro deals with, refreshed from player summaries."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from astro.steam import get_gateway
from audit.models import Source
from audit.services import record_events
from items.models import SteamUser

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # GetPlayerSummaries takes at most 100 ids per call
PROFILE_MAX_AGE = timedelta(days=1)
MAX_USERS_PER_RUN = 1000
_FIELDS = ("display_name", "avatar_url", "profile_url", "country_code", "account_created_at")


def profiles_refresh(
    *, actor: str, steam_ids: list[int] | None = None, max_users: int = MAX_USERS_PER_RUN, gateway=None
) -> int:
    """Refresh display name, avatar, profile URL, country and account creation date.

    Without `steam_ids`: the users never refreshed or refreshed longest ago (older
    than a day), at most `max_users`. Steam is asked in batches of 100, each with
    no transaction open; each batch is then written in one transaction, with a
    `user.profile_refreshed` event for every user whose profile changed.
    `first_seen_at`/`last_seen_at` (when Astro dealt with the user) are left alone.
    Returns how many users were refreshed. Steam errors propagate (the task retries).
    """
    if steam_ids is None:
        cutoff = timezone.now() - PROFILE_MAX_AGE
        steam_ids = list(
            SteamUser.objects.filter(Q(profile_refreshed_at__isnull=True) | Q(profile_refreshed_at__lt=cutoff))
            .order_by("profile_refreshed_at", "steam_id")
            .values_list("steam_id", flat=True)[:max_users]
        )
    steam_ids = list(dict.fromkeys(int(s) for s in steam_ids))
    if not steam_ids:
        return 0
    if gateway is None:
        gateway = get_gateway()
    refreshed = 0
    for start in range(0, len(steam_ids), BATCH_SIZE):
        batch = steam_ids[start : start + BATCH_SIZE]
        summaries = {s.steam_id: s for s in gateway.get_player_summaries(batch)}
        refreshed += _store(batch, summaries, actor=actor)
    return refreshed


def _store(batch: list[int], summaries: dict, *, actor: str) -> int:
    now = timezone.now()
    events = []
    with transaction.atomic():
        users = list(SteamUser.objects.select_for_update().filter(steam_id__in=batch))
        for user in users:
            summary = summaries.get(user.steam_id)
            # A user Steam does not return (deleted, or not an individual account)
            # is still marked refreshed, so it is not asked for again every run.
            user.profile_refreshed_at = now
            if summary is None:
                continue
            new = {
                "display_name": (summary.display_name or "")[:255] or None,
                "avatar_url": (summary.avatar_url or "")[:512] or None,
                "profile_url": (summary.profile_url or "")[:512] or None,
                "country_code": (summary.country_code or "")[:2].upper() or None,
                "account_created_at": summary.account_created_at,
            }
            changed = {field: value for field, value in new.items() if getattr(user, field) != value}
            for field, value in changed.items():
                setattr(user, field, value)
            if changed:
                events.append({
                    "event_type": "user.profile_refreshed", "actor": actor, "source": Source.WORKER,
                    "user_id": user.steam_id,
                    "description": f"Profile of {user.steam_id} refreshed from Steam ({', '.join(sorted(changed))}).",
                    "data": {"changed": sorted(changed)},
                })
        SteamUser.objects.bulk_update(users, [*_FIELDS, "profile_refreshed_at", "updated_at"])
        record_events(events)
    return len(users)
