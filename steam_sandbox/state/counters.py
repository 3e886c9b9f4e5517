"""How often each bot called what: the numbers a delivery benchmark checks ("at most
about one listing per 10 s per bot"), and what the GetTradeOffers glitches and
Steam's "changed since your last visit" count from. For the moment: never saved,
cleared by a reset or `POST /sandbox/counters/reset`."""

from __future__ import annotations

import time

# A GetTradeOffers listing: its first page (cursor 0); every page also counts as a
# GetTradeOffers call.
LISTING = "GetTradeOffers:listing"
# Endpoint names as counted, by the group a benchmark reports.
GROUPS = {
    "listings": (LISTING,),
    "singleOfferReads": ("GetTradeOffer", "GetTradeStatus"),
    "confirmationCalls": ("getlist", "details", "ajaxop", "multiajaxop"),
    "sends": ("send",),
}
# GetTradeOffer / GetTradeStatus of an offer still outstanding (active, unconfirmed
# or in escrow), also counted under its own name.
OUTSTANDING_READS = "outstandingOfferReads"


class CallCounters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.since = time.time()
        # bot steamid -> endpoint -> {"count", "first", "last", "minGapSeconds"} (real time)
        self.by_bot: dict[int, dict[str, dict]] = {}
        # bot steamid -> sandbox time its last GetTradeOffers listing started (Steam's "last visit")
        self.last_listing: dict[int, int] = {}
        # bot steamid -> (the visit before the current listing, the current listing's number)
        self.listing_visit: dict[int, tuple[int | None, int]] = {}
        # endpoint -> real time of its last call by anyone (pacing per host)
        self.host_last: dict[str, float] = {}

    def count(self, bot: int, endpoint: str) -> int:
        """One more call; answers how many there were, this one included."""
        now = time.time()
        entry = self.by_bot.setdefault(bot, {}).get(endpoint)
        if entry is None:
            entry = self.by_bot[bot][endpoint] = {"count": 0, "first": now, "last": now, "minGapSeconds": None}
        else:
            gap = round(now - entry["last"], 3)
            entry["minGapSeconds"] = gap if entry["minGapSeconds"] is None else min(entry["minGapSeconds"], gap)
            entry["last"] = now
        entry["count"] += 1
        return entry["count"]

    def host_call(self, endpoint: str) -> float | None:
        """One more call of `endpoint` by anyone; seconds since the one before (None: first)."""
        now = time.time()
        before = self.host_last.get(endpoint)
        self.host_last[endpoint] = now
        return None if before is None else now - before

    def seconds_since_last(self, bot: int, endpoint: str) -> float | None:
        entry = self.by_bot.get(bot, {}).get(endpoint)
        return None if entry is None else time.time() - entry["last"]

    def view(self, bot: int) -> dict:
        endpoints = self.by_bot.get(bot, {})
        totals = {group: sum(endpoints.get(name, {}).get("count", 0) for name in names) for group, names in GROUPS.items()}
        totals[OUTSTANDING_READS] = endpoints.get(OUTSTANDING_READS, {}).get("count", 0)
        return {
            "steamId": str(bot),
            "since": round(self.since, 3),
            **totals,
            "endpoints": {name: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in e.items()}
                          for name, e in sorted(endpoints.items())},
        }
