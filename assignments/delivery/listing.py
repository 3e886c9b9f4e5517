"""Our sent offers as Steam lists them, and the one rule for calling an offer ours.

**One listing per bot, shared.** A GetTradeOffers listing is costly and rate
limited; the poll and every pre-send lookup due at the same moment use the same
one. `sent_offers` hands out the newest listing kept in Redis when it is new
enough for the caller (taken after `taken_after`, reaching back to `cutoff`), and
otherwise takes one, one process at a time per bot: the others wait for it.

**How far back.** Steam lists the active offers plus those changed since
`time_historical_cutoff`, and it sometimes backdates `time_updated` of a
modified offer; so the cutoff is the newest `time_updated` seen before, minus
BACKDATE_SLACK (kept per bot, keyed by the bot's steamid). A listing with a
glitched offer (no items, or assets with id 0) does not move that mark on.

**Adoption (`offer_is_ours`).** An offer is this delivery's only when its tag
names this assignment and one of its attempts that recorded no offer, its
partner is the assignment's user, it asks for nothing, and it gives exactly the
attempt's assets. Steam sometimes lists an asset with id 0: such an asset
matches one of ours by (app, class, instance), and the counts must agree. The
send, the cancel and the poll all decide with this one function.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from assignments.delivery.records import outside_transaction, parse_tag
from astro.steam.types import OfferAsset, OfferState, TradeOffer

logger = logging.getLogger(__name__)

# Steam backdates time_updated of a modified offer, by minutes; node-steam-tradeoffer-manager uses 30.
BACKDATE_SLACK = timedelta(minutes=30)
# CS2 trade protection lets a trade be reverted for 7 days; watch a little longer.
REVERT_WATCH = timedelta(days=8)
_LISTING_KEY = "delivery:listing:{bot}"
_LOCK_KEY = "delivery:listing-lock:{bot}"
_SEEN_KEY = "delivery:offers-seen:{bot}"
_KEEP_SECONDS = 3600
_DATETIME_FIELDS = ("created_at", "updated_at", "expires_at", "escrow_end_at")


@dataclass(frozen=True)
class OurAsset:
    """One asset an attempt gives, with what identifies it when Steam leaves its id out."""

    app_id: int
    context_id: int
    asset_id: int
    class_id: int
    instance_id: int


@dataclass(frozen=True)
class Listing:
    taken_at: datetime  # when the request started: everything created before it is in it
    cutoff: datetime | None  # time_historical_cutoff sent (None: Steam's default)
    offers: list[TradeOffer]


# --------------------------------------------------------------- adoption
def offer_is_ours(offer: TradeOffer, *, assignment_id, attempt_numbers, user_id: int,
                  assets: list[OurAsset]) -> bool:
    """The adoption rule (module docstring). `attempt_numbers`: the assignment's
    attempts that recorded no offer (the current one included)."""
    parsed = parse_tag(offer.message)
    if not parsed or parsed[0] != assignment_id or parsed[1] not in set(attempt_numbers):
        return False
    if is_unknown(offer.state) or offer.partner_steam_id != user_id or offer.items_to_receive:
        return False
    return assets_match(offer.items_to_give, assets)


def assets_match(given: list[OfferAsset], ours: list[OurAsset]) -> bool:
    """The offer gives exactly `ours`: by asset id, or, for an asset Steam listed
    with id 0, by (app, class, instance), with the counts equal."""
    if not ours or len(given) != len(ours):
        return False
    unmatched = {(a.app_id, a.asset_id): a for a in ours}
    blind = []
    for asset in given:
        if not asset.asset_id:
            blind.append(asset)
            continue
        mine = unmatched.pop((asset.app_id, asset.asset_id), None)
        if mine is None:
            return False  # an asset we would not give, or one listed twice
        if asset.context_id and asset.context_id != mine.context_id:
            return False
    if any(asset.class_id is None for asset in blind):
        return False  # nothing left to tell it by
    return Counter((a.app_id, a.class_id, a.instance_id or 0) for a in blind) == Counter(
        (a.app_id, a.class_id, a.instance_id) for a in unmatched.values()
    )


def is_unknown(state) -> bool:
    """A state Steam sent that Astro does not know (the gateway's OfferState.UNKNOWN)."""
    return getattr(state, "name", None) == "UNKNOWN"


def is_glitched(offer: TradeOffer) -> bool:
    """Listed without items, or with an asset whose id Steam left out."""
    assets = offer.items_to_give + offer.items_to_receive
    return not assets or any(not a.asset_id or not a.context_id for a in assets)


# --------------------------------------------------------------- the listing
def sent_offers(gateway, *, taken_after: datetime, cutoff: datetime | None, bot: int | None = None) -> Listing:
    """Our sent offers (active, plus those changed since `cutoff`), from a listing
    taken after `taken_after`: the shared one when it qualifies, else a new one."""
    outside_transaction()
    bot = bot if bot is not None else gateway.bot_steam_id
    deadline = time.monotonic() + 2 * settings.STEAM_HTTP_TIMEOUT_SECONDS
    token = uuid.uuid4().hex
    while True:
        kept = _kept(bot)
        if kept is not None and kept.taken_at >= taken_after and _reaches(kept.cutoff, cutoff):
            return kept
        if cache.add(_LOCK_KEY.format(bot=bot), token, timeout=2 * settings.STEAM_HTTP_TIMEOUT_SECONDS + 5):
            break
        if time.monotonic() > deadline:
            break  # the holder is stuck: list anyway (a second listing is only a cost)
        time.sleep(0.1)
    try:
        return _take(gateway, bot, cutoff)
    finally:
        if cache.get(_LOCK_KEY.format(bot=bot)) == token:
            cache.delete(_LOCK_KEY.format(bot=bot))


def last_listing_at(bot: int) -> datetime | None:
    kept = _kept(bot)
    return kept.taken_at if kept else None


def incremental_cutoff(bot: int, *, now: datetime) -> datetime:
    """Where the poll's listing starts: the newest time_updated seen, minus the backdating
    slack; never later than our own now minus that slack (a mark from a clock ahead of
    ours must not hide what changed since)."""
    seen = cache.get(_SEEN_KEY.format(bot=bot))
    mark = datetime.fromtimestamp(seen, tz=dt_timezone.utc) if isinstance(seen, (int, float)) else now
    return min(mark, now) - BACKDATE_SLACK


def forget(bot: int) -> None:
    """Drop what is kept for a bot (its listing and mark): a new world behind the same bot."""
    cache.delete_many([_LISTING_KEY.format(bot=bot), _SEEN_KEY.format(bot=bot), _LOCK_KEY.format(bot=bot)])


def _reaches(have: datetime | None, need: datetime | None) -> bool:
    if need is None:
        return have is None
    return have is not None and have <= need


def _take(gateway, bot: int, cutoff: datetime | None) -> Listing:
    taken_at = timezone.now()
    offers = [o for o in gateway.get_sent_offers(active_only=True, changed_since=cutoff) if _known(o)]
    listing = Listing(taken_at=taken_at, cutoff=cutoff, offers=offers)
    cache.set(_LISTING_KEY.format(bot=bot), _encode(listing), timeout=_KEEP_SECONDS)
    if offers and not any(is_glitched(o) for o in offers):
        newest = max((o.updated_at for o in offers if o.updated_at), default=None)
        if newest is not None:
            key = _SEEN_KEY.format(bot=bot)
            if newest.timestamp() > (cache.get(key) or 0):
                cache.set(key, newest.timestamp(), timeout=None)
    return listing


def _known(offer: TradeOffer) -> bool:
    if is_unknown(offer.state):
        # One odd offer must not block a listing: log it and leave it out.
        logger.warning("offer %s is in a state Astro does not know (%s); skipped", offer.offer_id,
                       getattr(offer, "raw_state", offer.state))
        return False
    return True


def _kept(bot: int) -> Listing | None:
    raw = cache.get(_LISTING_KEY.format(bot=bot))
    if not isinstance(raw, dict):
        return None
    try:
        return _decode(raw)
    except (KeyError, TypeError, ValueError):
        logger.warning("the kept offer listing of bot %s cannot be read; a new one is taken", bot)
        return None


def _encode(listing: Listing) -> dict:
    def offer(o: TradeOffer) -> dict:
        out = {}
        for f in fields(o):
            value = getattr(o, f.name)
            if isinstance(value, datetime):
                value = value.timestamp()
            elif f.name == "state":
                value = int(value)
            elif f.name in ("items_to_give", "items_to_receive"):
                value = [{g.name: getattr(a, g.name) for g in fields(a)} for a in value]
            out[f.name] = value
        return out

    return {"takenAt": listing.taken_at.timestamp(),
            "cutoff": listing.cutoff.timestamp() if listing.cutoff else None,
            "offers": [offer(o) for o in listing.offers]}


def _decode(raw: dict) -> Listing:
    def when(value):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc) if value is not None else None

    offers = []
    for data in raw["offers"]:
        data = dict(data)
        for name in _DATETIME_FIELDS:
            if name in data:
                data[name] = when(data[name])
        data["state"] = OfferState(data["state"])
        for side in ("items_to_give", "items_to_receive"):
            data[side] = [OfferAsset(**a) for a in data[side]]
        known = {f.name for f in fields(TradeOffer)}
        offers.append(TradeOffer(**{k: v for k, v in data.items() if k in known}))
    return Listing(taken_at=when(raw["takenAt"]), cutoff=when(raw["cutoff"]), offers=offers)
