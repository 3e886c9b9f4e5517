"""The event catalogue: every event type Astro records, its category and default severity.

`record_event` refuses types not listed here, so the catalogue in
docs/architecture.md (checked by tests/audit/test_catalogue.py) is complete.
Add a type here, then to the table in docs/architecture.md.
"""

from __future__ import annotations

from typing import NamedTuple


class EventSpec(NamedTuple):
    category: str
    severity: str
    meaning: str


def _spec(category: str, severity: str, meaning: str) -> EventSpec:
    return EventSpec(category, severity, meaning)


EVENT_TYPES: dict[str, EventSpec] = {
    # items: the pool
    "item.added": _spec("item", "info", "A new item appeared in the bot inventory and entered the pool."),
    "item.updated": _spec("item", "info", "Steam changed an item's description, tradability or properties."),
    "item.delivered": _spec("item", "info", "The item left the inventory in an accepted trade offer of ours."),
    "item.missing": _spec("item", "warning", "The item vanished from Steam and nothing explains it (a discrepancy)."),
    "item.restored": _spec("item", "info", "A missing or removed item is back in the inventory and available again."),
    "item.removed": _spec("item", "info", "The item left the inventory for a known reason."),
    "item.reserved": _spec("item", "info", "The item was claimed by an assignment."),
    "item.released": _spec("item", "info", "The item went back to the pool (assignment cancelled or failed)."),
    "item.quarantined": _spec("item", "warning", "An operator took the item out of the pool."),
    "item.accepted": _spec("item", "info", "An operator accepted an unexpected item into the pool."),
    "item.value_updated": _spec("item", "debug", "The item's market value was refreshed."),
    # assignments
    "assignment.created": _spec("assignment", "info", "An external system assigned items to a Steam user."),
    "assignment.cancelled": _spec("assignment", "info", "The assignment was cancelled; its items went back to the pool."),
    "assignment.resumed": _spec("assignment", "info", "A waiting assignment can go on (its trade URL was set); delivery is queued."),
    "assignment.waiting": _spec("assignment", "warning", "Delivery cannot start yet (e.g. trade_url_required)."),
    # delivery
    "delivery.attempt_started": _spec("delivery", "info", "A delivery attempt claimed the assignment."),
    "delivery.offer_sent": _spec("delivery", "info", "A trade offer was sent; its id is recorded before it is confirmed."),
    "delivery.offer_confirmed": _spec("delivery", "info", "Our offer was confirmed with the identity secret; it waits for the user."),
    "delivery.attempt_recovered": _spec("delivery", "warning", "An attempt whose worker stopped mid-send was taken over; the new attempt looks for its offer before sending."),
    "delivery.retry_requested": _spec("delivery", "warning", "An operator retried a failed delivery; its items were reserved again."),
    "delivery.resend_requested": _spec("delivery", "info", "An operator asked for the offer to be replaced (or sent now)."),
    "delivery.offer_adopted": _spec("delivery", "warning", "A send that failed on our side had created the offer; it was adopted, not resent."),
    "delivery.accepted": _spec("delivery", "info", "The user accepted the offer; the assignment is delivered."),
    "delivery.declined": _spec("delivery", "warning", "The user declined the offer; the assignment failed."),
    "delivery.retry_scheduled": _spec("delivery", "warning", "The offer ended without delivery (expired, cancelled, countered); another attempt is scheduled."),
    "delivery.transient_error": _spec("delivery", "warning", "Steam answered with a temporary error; the attempt will be retried."),
    "delivery.escrow": _spec("delivery", "info", "The offer was accepted into escrow; items are held by Steam."),
    "delivery.invalid_items": _spec("delivery", "error", "Steam reported items of the offer as no longer available."),
    "delivery.reverted": _spec("delivery", "error", "A delivered trade was reverted (CS2 trade protection)."),
    "delivery.failed": _spec("delivery", "error", "Delivery gave up; the items went back to the pool."),
    "delivery.offer_cancelled": _spec("delivery", "info", "Astro cancelled its own offer on Steam."),
    # sync
    "sync.requested": _spec("sync", "info", "An inventory sync was queued (API, admin or after a trade)."),
    "sync.completed": _spec("sync", "info", "An inventory sync applied its changes."),
    "sync.held": _spec("sync", "warning", "A sync found a suspicious answer and applied nothing; an operator must decide."),
    "sync.failed": _spec("sync", "error", "A sync could not read the inventory; nothing was applied."),
    "sync.skipped": _spec("sync", "info", "A sync was requested while another was running."),
    "sync.applied": _spec("sync", "warning", "An operator applied a held sync."),
    "sync.discarded": _spec("sync", "info", "An operator discarded a held sync."),
    # users
    "user.created": _spec("user", "info", "Astro saw a Steam user for the first time."),
    "user.trade_url_set": _spec("user", "info", "A Steam user's trade URL was set or changed."),
    "user.profile_refreshed": _spec("user", "debug", "A Steam user's profile was refreshed from Steam."),
    # integration API
    "api.key_created": _spec("api", "info", "An API key was created for an external system."),
    "api.key_revoked": _spec("api", "warning", "An API key was revoked."),
    "api.system_created": _spec("api", "info", "An external system was registered for the integration API."),
    "api.system_updated": _spec("api", "info", "An operator changed an external system: active, scopes, rate limit or maximum priority."),
    # system
    "system.demo_seeded": _spec("system", "info", "make demo loaded its demo data."),
    "system.login_locked_out": _spec(
        "system", "warning", "An admin login was locked out after too many failed attempts (that username, that address)."
    ),
}
