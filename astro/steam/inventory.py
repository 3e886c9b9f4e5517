"""Reading the bot's inventory: every page of one app/context, paced across processes.

steampy's get_my_inventory asks for count=5000 in one request (HTTP 400 from Steam
since 2025) and never pages, so it is not used. Pages are asked with count <= 1000
and start_assetid, at least `STEAM_INVENTORY_PACING_SECONDS` apart per Steam host
across every process (`astro.core.ratelimit.pace_reserve`: each page books the next
slot in Redis), as ArchiSteamFarm does with its 4 s inventory limiter. A 429 pushes
the next slot back by Steam's Retry-After (or the pacing, at least), for every
process at once (`pace_hold`).

Steam's `total_inventory_count` may be above what it lists (CS2 counts protected and
hidden items it does not show): the count is reported, never checked here.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import orjson
from steampy.models import SteamUrl

from astro.core.ratelimit import pace_hold, pace_reserve
from astro.steam import parsing
from astro.steam.answers import check, request
from astro.steam.descriptions import DescriptionCache
from astro.steam.errors import SteamPermanentError, SteamRateLimited, SteamTransientError
from astro.steam.steampy_fixes import AstroSteamClient
from astro.steam.transport import COMMUNITY_HOST
from astro.steam.types import Inventory, InventoryItem, ProgressCallback

log = logging.getLogger(__name__)

MAX_INVENTORY_PAGE = 1000  # Steam answers HTTP 400 to a larger count


def pace_key(realm: str) -> str:
    """The shared pace of one Steam host (per realm: a sandbox never slows live reads)."""
    return f"steam-inventory:{realm}:{COMMUNITY_HOST}"


def fetch_inventory(gateway: Any, app_id: int, context_id: int, *, on_page: ProgressCallback | None) -> Inventory:
    """The whole app/context inventory of `gateway`'s bot (a `SteampyGateway`).

    A page that still fails after the gateway's retries raises: a caller never sees
    a partial inventory.
    """
    count = min(gateway.config.page_size, MAX_INVENTORY_PAGE)
    what = f"inventory {app_id}/{context_id}"
    items: dict[int, InventoryItem] = {}
    start: str | None = None
    seen_starts: set[str] = set()
    pages = 0
    pacing = gateway.config.inventory_pacing
    key = pace_key(gateway.steam_session.realm)
    # Each description is normalised once per fetch, not once per page that repeats it.
    descriptions: DescriptionCache = {}
    # The cyclic collector stays paused for the whole fetch, not only while a page
    # is parsed (_page leaves it alone when it finds it paused): the items read so
    # far (~6 containers each, none in a reference cycle) were traversed again by
    # the collections run between pages, ~0.3-0.5 s of a 100,000-item read.
    # Resumed however the fetch ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        while True:
            page = gateway._read(
                what, lambda client: _paced_page(client, key, pacing, app_id, context_id, count, start, descriptions)
            )
            pages += 1
            for item in page.items:
                items.setdefault(item.asset_id, item)
            if on_page is not None:
                on_page(pages, len(items), page.total_count)
            if not page.more_items:
                return Inventory(app_id=app_id, context_id=context_id, items=list(items.values()),
                                 total_count=page.total_count, pages=pages)
            if not page.last_assetid or page.last_assetid in seen_starts:
                raise SteamTransientError(f"{what}: Steam's paging does not advance (last_assetid {page.last_assetid})")
            seen_starts.add(page.last_assetid)
            start = page.last_assetid
    finally:
        if collecting:
            gc.enable()


def _paced_page(client: AstroSteamClient, key: str, pacing: float, app_id: int, context_id: int, count: int,
                start: str | None, descriptions: DescriptionCache) -> parsing.InventoryPage:
    if pacing > 0:
        wait = pace_reserve(key, spacing=pacing)
        if wait > 0:
            time.sleep(wait)
    try:
        return _page(client, app_id, context_id, count, start, descriptions)
    except SteamRateLimited as limited:
        # Everyone waits, not only this process: Steam throttles the host, not the worker.
        # Without a Retry-After the hold is one pacing step (the gateway's backoff adds to it).
        hold = limited.retry_after if limited.retry_after is not None else pacing
        if hold > 0:
            pace_hold(key, seconds=hold)
        raise


def _page(client: AstroSteamClient, app_id: int, context_id: int, count: int, start: str | None,
          descriptions: DescriptionCache) -> parsing.InventoryPage:
    what = f"inventory {app_id}/{context_id} page"
    params: dict[str, Any] = {"l": "english", "count": count}
    if start:
        params["start_assetid"] = start
    url = f"{SteamUrl.COMMUNITY_URL}/inventory/{client.steam_id}/{app_id}/{context_id}"
    response = request(client, "GET", url, params=params, what=what,
                       headers={"Referer": f"{SteamUrl.COMMUNITY_URL}/profiles/{client.steam_id}/inventory"})
    if response.status_code == 400:
        raise SteamPermanentError(
            f"{what}: Steam refused count={count} (HTTP 400); lower STEAM_INVENTORY_PAGE_SIZE",
            code="inventory_page_refused", status=400,
        )
    # 403 with a null body on our *own* inventory means the session is gone.
    check(response, what, forbidden_means_expired=True)
    # A page is ~1.2 MB of JSON: orjson decodes the bytes ~2x faster than
    # requests' .json() (the stdlib decoder), which was most of a 100,000-item read.
    # The decoded page is ~100,000 containers without a single reference cycle,
    # freed by reference counting once parsed; with the cyclic collector running,
    # they push full collections over everything read so far (100,000 items by
    # the last page): ~0.5 s of a 4 s read. So it is paused for this page only
    # (and resumed however the page ends).
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SteamTransientError(f"{what}: Steam answered HTTP {response.status_code} without JSON",
                                      status=response.status_code) from None
        page = parsing.parse_inventory_page(payload, app_id=app_id, context_id=context_id, descriptions=descriptions)
        del payload
        return page
    finally:
        if collecting:
            gc.enable()
