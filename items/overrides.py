"""Operator overrides for items sync could not explain (unexpected and quarantined items).

Each function is one operator decision. It takes keyword-only arguments, the
operator as `actor` and a mandatory `reason`, changes the item with a guarded
conditional UPDATE (WHERE id = ... AND status = <the state it applies to>),
and records its audit event in the same transaction. When the item is not in a
state the override applies to, it raises `OverrideRefused` and changes nothing.

The admin calls these; so could a management command. None of them is ever
called by sync or delivery: they are how a human settles what those could not.
The overrides that depend on an item's assignment (confirm a missing item
removed, release it from its assignment, restore it after a Steam check) are in
assignments/overrides.py, built on the helpers here.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from astro.core.errors import Conflict, NotFound
from astro.core.reasons import clean_reason
from audit.services import record_event
from items.models import Item, ItemStatus, ReceivedVia


class OverrideRefused(Conflict):
    """The item is not in a state this override applies to; nothing was changed."""

    code = "override_not_applicable"


def override_load_item(item_id, *, lock: bool = False) -> Item:
    """The item an override acts on; NotFound (`item_not_found`) if there is none."""
    # Locked inside the override's transaction: the status we check, the UPDATE and
    # what the event says about the item all describe the same row version.
    queryset = Item.objects.select_for_update(of=("self",)) if lock else Item.objects
    try:
        return queryset.get(id=item_id)
    except (Item.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such item.", code="item_not_found") from None


def override_refusal(item: Item, what: str, expected: str) -> OverrideRefused:
    """The refusal of an override that does not apply to the item's status."""
    return OverrideRefused(
        f"Cannot {what}: {item.item_name} is {item.get_status_display().lower()}, not {expected}.",
        details={"itemId": str(item.id), "status": item.status},
    )


def override_record_event(item: Item, *, event_type: str, description: str, actor: str, source: str, reason: str,
                          **data) -> None:
    """The override's audit event: who, why, and the item as the override found it."""
    record_event(
        event_type=event_type,
        description=f"{description} Reason: {reason}",
        actor=actor,
        source=source,
        item_id=item.id,
        user_id=data.pop("user_id", None),
        assignment_id=data.pop("assignment_id", None),
        data={"reason": reason, "itemName": item.item_name, "assetId": item.steam_asset_id, **data},
    )


# ------------------------------------------------------------ unexpected items


def item_accept(*, item_id: uuid.UUID | str, actor: str, reason: str, source: str = "admin") -> Item:
    """Accept an item into the pool: an unexpected one sync found, or a quarantined one.

    Unexpected items (`received_via='sync'`) are `available` but await a decision;
    accepting records it (`received_via='operator'`, the event keeps the history).
    A quarantined item becomes `available`.
    """
    reason = clean_reason(reason, what="an operator override")
    with transaction.atomic():
        item = override_load_item(item_id, lock=True)
        now = timezone.now()
        changed = Item.objects.filter(id=item.id, status=ItemStatus.QUARANTINED).update(
            status=ItemStatus.AVAILABLE, received_via=ReceivedVia.OPERATOR, updated_at=now
        ) or Item.objects.filter(
            id=item.id, status=ItemStatus.AVAILABLE, received_via=ReceivedVia.SYNC
        ).update(received_via=ReceivedVia.OPERATOR, updated_at=now)
        if changed != 1:
            raise override_refusal(item, "accept it into the pool", "quarantined or an unexpected available item")
        override_record_event(
            item, event_type="item.accepted", actor=actor, source=source, reason=reason,
            description=f"{item.item_name} accepted into the pool by {actor}.",
            previousStatus=item.status, previousReceivedVia=item.received_via,
        )
        item.refresh_from_db()
    return item


def item_quarantine(*, item_id: uuid.UUID | str, actor: str, reason: str, source: str = "admin") -> Item:
    """Take an available item out of the pool (e.g. an unexpected item nobody can explain).

    Only a free item: one that is reserved or in an offer belongs to a delivery,
    which must be cancelled first.
    """
    reason = clean_reason(reason, what="an operator override")
    with transaction.atomic():
        item = override_load_item(item_id, lock=True)
        changed = Item.objects.filter(id=item.id, status=ItemStatus.AVAILABLE).update(
            status=ItemStatus.QUARANTINED, updated_at=timezone.now()
        )
        if changed != 1:
            raise override_refusal(item, "quarantine it", "available")
        override_record_event(
            item, event_type="item.quarantined", actor=actor, source=source, reason=reason,
            description=f"{item.item_name} quarantined by {actor}.",
            previousStatus=item.status, receivedVia=item.received_via,
        )
        item.refresh_from_db()
    return item
