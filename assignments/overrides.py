"""Operator overrides on items that an assignment may hold: the delivery-aware ones.

Confirm a missing item removed, release an item from its pending assignment,
restore a missing (or removed) item after a Steam check. Each one looks at the
item's active assignment row and its delivery attempts before it changes the
item, because an item a live offer may carry must not go back to the pool (or
away from its assignment). They follow the rules of items/overrides.py (one
operator decision, a mandatory reason, a guarded conditional UPDATE, the event
in the same transaction, `OverrideRefused` and nothing changed when it does not
apply) and use its helpers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assignments.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    OPEN_ATTEMPT_OUTCOMES,
    Assignment,
    AssignmentItem,
    AssignmentStatus,
    DeliveryAttempt,
)
from astro.core.reasons import clean_reason
from astro.steam import get_gateway
from items.models import Item, ItemStatus
from items.overrides import OverrideRefused, override_load_item, override_record_event, override_refusal

# Statuses from which "mark available again after a fresh check" applies: the
# database believes the item left; Steam may show it is still there.
RESTORABLE = (ItemStatus.MISSING, ItemStatus.REMOVED)


@dataclass(frozen=True)
class RestoreOutcome:
    item: Item
    context_id: int  # where Steam showed the asset (it may have moved, e.g. 16 -> 2 after CS2 protection)


def _active_row(item_id) -> AssignmentItem | None:
    """The item's row in a pending/processing assignment, if any (at most one: unique index)."""
    return (
        AssignmentItem.objects.select_related("assignment")
        .filter(item_id=item_id, assignment__status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .first()
    )


def item_confirm_removed(*, item_id: uuid.UUID | str, actor: str, reason: str, source: str = "admin") -> Item:
    """A missing item is gone for good: missing -> removed.

    Refused while the item still belongs to a pending or processing assignment:
    release it from that assignment first (or cancel the assignment), so that no
    delivery keeps waiting for an item that no longer exists.
    """
    reason = clean_reason(reason, what="an operator override")
    with transaction.atomic():
        item = override_load_item(item_id, lock=True)
        row = _active_row(item.id)
        if row is not None and item.status == ItemStatus.MISSING:
            raise OverrideRefused(
                f"{item.item_name} still belongs to assignment {row.assignment_id} "
                f"({row.assignment.status}); release it from that assignment first.",
                details={"itemId": str(item.id), "assignmentId": str(row.assignment_id)},
                code="item_in_active_assignment",
            )
        changed = Item.objects.filter(id=item.id, status=ItemStatus.MISSING).update(
            status=ItemStatus.REMOVED, assigned_to_user=None, assigned_at=None, updated_at=timezone.now()
        )
        if changed != 1:
            raise override_refusal(item, "confirm it removed", "missing")
        override_record_event(
            item, event_type="item.removed", actor=actor, source=source, reason=reason,
            description=f"{item.item_name} confirmed removed by {actor}.", previousStatus="missing",
        )
        item.refresh_from_db()
    return item


def item_release_from_assignment(
    *, item_id: uuid.UUID | str, actor: str, reason: str, source: str = "admin"
) -> Item:
    """Take an item Steam no longer shows out of the pending assignment that holds it.

    Sync never touches an item delivery owns: a reserved item that vanished from
    the inventory stays `reserved` and is reported as a discrepancy. Releasing it
    takes its row out of the assignment (the row's content stays in the
    `item.released` event: assignment, name and value there) and shrinks the
    assignment's totals, so the delivery goes on with the items that exist. The
    item becomes `missing`, unbound, for an operator to confirm removed or restore
    (and if Steam does show it after all, the next sync puts it back in the pool).

    Refused when an offer for the assignment may be live on Steam (the
    assignment is processing: check or cancel it first), and for the assignment's last
    item (cancel the assignment instead: an assignment with nothing to deliver
    is not a delivery).
    """
    reason = clean_reason(reason, what="an operator override")
    releasable = (ItemStatus.RESERVED, ItemStatus.MISSING)
    with transaction.atomic():
        item = override_load_item(item_id)
        row = _active_row(item.id)
        if row is None:
            raise OverrideRefused(
                f"{item.item_name} is not in a pending or processing assignment.",
                details={"itemId": str(item.id), "status": item.status}, code="item_not_in_active_assignment",
            )
        # Lock the assignment, then the item: the order delivery and cancellation use,
        # so the two cannot deadlock. Delivery claims the assignment with a
        # conditional UPDATE, so while we hold this lock no attempt can start.
        assignment = Assignment.objects.select_for_update().get(id=row.assignment_id)
        item = override_load_item(item_id, lock=True)
        if assignment.status not in ACTIVE_ASSIGNMENT_STATUSES:
            raise OverrideRefused(
                f"Assignment {assignment.id} is {assignment.status}; there is nothing to release from.",
                details={"assignmentId": str(assignment.id)}, code="assignment_not_active",
            )
        # `processing` without an open attempt still means an offer may be live: a
        # send that timed out after Steam created it (send_outcome_unknown), or a
        # worker that died mid-send; the next attempt adopts that offer, item and all.
        if assignment.status == AssignmentStatus.PROCESSING or DeliveryAttempt.objects.filter(
            assignment_id=assignment.id, outcome__in=OPEN_ATTEMPT_OUTCOMES
        ).exists():
            raise OverrideRefused(
                f"An offer for assignment {assignment.id} may be live on Steam; check or cancel it first.",
                details={"assignmentId": str(assignment.id)}, code="delivery_in_flight",
            )
        if item.status not in releasable:
            raise override_refusal(item, "release it from its assignment", "reserved or missing")
        remaining = AssignmentItem.objects.filter(assignment_id=assignment.id).exclude(item_id=item.id).count()
        if remaining == 0:
            raise OverrideRefused(
                f"{item.item_name} is the last item of assignment {assignment.id}; cancel the assignment instead.",
                details={"assignmentId": str(assignment.id)}, code="last_item_of_assignment",
            )
        now = timezone.now()
        changed = Item.objects.filter(id=item.id, status__in=releasable).update(
            status=ItemStatus.MISSING, assigned_to_user=None, assigned_at=None, delivery_trade_offer_id=None,
            updated_at=now,
        )
        deleted, _ = AssignmentItem.objects.filter(assignment_id=assignment.id, item_id=item.id).delete()
        if changed != 1 or deleted != 1:  # both rows are locked: a broken invariant, not a race
            raise OverrideRefused("The item or its assignment changed meanwhile; nothing was released.")
        value = row.item_value_at_assignment or 0
        Assignment.objects.filter(id=assignment.id).update(
            total_items_count=remaining,
            total_estimated_value=max(assignment.total_estimated_value - value, 0),
            updated_at=now,
        )
        override_record_event(
            item, event_type="item.released", actor=actor, source=source, reason=reason,
            description=f"{item.item_name} released from assignment {assignment.id} by {actor}.",
            assignment_id=assignment.id, user_id=assignment.user_id, previousStatus=item.status,
            nameAtAssignment=row.item_name_at_assignment, valueAtAssignment=row.item_value_at_assignment,
            deliveryStatus=row.delivery_status, remainingItems=remaining,
        )
        if item.status != ItemStatus.MISSING:
            override_record_event(
                item, event_type="item.missing", actor=actor, source=source, reason=reason,
                description=f"{item.item_name} marked missing by {actor} (Steam no longer shows it).",
                previousStatus=item.status,
            )
        item.refresh_from_db()
    return item


def item_restore_after_check(
    *, item_id: uuid.UUID | str, actor: str, reason: str, source: str = "admin", gateway=None
) -> RestoreOutcome:
    """Mark a missing (or removed) item available again, only if Steam shows it now.

    Reads the bot's inventory of the item's app (its own context first, then the
    app's other configured contexts) outside any transaction, then restores with
    a conditional UPDATE: if sync or another operator changed the item meanwhile,
    nothing happens and the override is refused. An item still held by a pending
    assignment goes back to `reserved` for it, not into the free pool.
    """
    reason = clean_reason(reason, what="an operator override")
    if transaction.get_connection().in_atomic_block:
        # The inventory read can take many seconds; a transaction held open across it
        # would pin row locks and a snapshot for that long.
        raise RuntimeError("item_restore_after_check calls Steam and must not run inside a transaction")
    item = override_load_item(item_id)
    if item.status not in RESTORABLE:
        raise override_refusal(item, "mark it available again", "missing or removed")

    if gateway is None:
        gateway = get_gateway()
    contexts = [item.steam_context_id] + [
        context for app, context in settings.STEAM_INVENTORIES
        if app == item.steam_app_id and context != item.steam_context_id
    ]
    found_in = None
    for context_id in contexts:
        inventory = gateway.fetch_inventory(item.steam_app_id, context_id)
        if any(asset.asset_id == item.steam_asset_id for asset in inventory.items):
            found_in = context_id
            break
    if found_in is None:
        raise OverrideRefused(
            f"Steam does not show asset {item.steam_asset_id} in the bot's inventory "
            f"(app {item.steam_app_id}, contexts {', '.join(map(str, contexts))}); {item.item_name} stays "
            f"{item.get_status_display().lower()}.",
            details={"itemId": str(item.id), "checkedContexts": contexts},
            code="item_not_in_inventory",
        )

    with transaction.atomic():
        row = _active_row(item.id)
        if row is not None and DeliveryAttempt.objects.filter(
            assignment_id=row.assignment_id, outcome__in=OPEN_ATTEMPT_OUTCOMES
        ).exists():
            raise OverrideRefused(
                f"An offer for assignment {row.assignment_id}, which holds {item.item_name}, may be live on "
                "Steam; check that offer first.",
                details={"itemId": str(item.id), "assignmentId": str(row.assignment_id)}, code="delivery_in_flight",
            )
        now = timezone.now()
        if row is not None:
            # Its assignment is still waiting for it: back to that assignment, not the pool.
            target = dict(status=ItemStatus.RESERVED, assigned_to_user_id=row.assignment.user_id)
        else:
            target = dict(status=ItemStatus.AVAILABLE, assigned_to_user=None, assigned_at=None)
        # Whatever offer the item was last in is over: kept, it would make a later
        # by-hand trade of the item look like one of our deliveries to the sync.
        changed = Item.objects.filter(id=item.id, status=item.status).update(
            steam_context_id=found_in, delivery_trade_offer_id=None, updated_at=now, **target
        )
        if changed != 1:
            current = override_load_item(item.id)
            raise OverrideRefused(
                f"{item.item_name} changed while Steam was checked (now {current.get_status_display().lower()}); "
                "nothing was restored.",
                details={"itemId": str(item.id), "status": current.status}, code="item_changed_meanwhile",
            )
        override_record_event(
            item, event_type="item.restored", actor=actor, source=source, reason=reason,
            description=(
                f"{item.item_name} found in the bot inventory (context {found_in}) and restored to "
                f"{target['status']} by {actor}."
            ),
            assignment_id=row.assignment_id if row else None,
            previousStatus=item.status, newStatus=str(target["status"]), contextId=found_in,
            checkedAt=now,
        )
    item.refresh_from_db()
    return RestoreOutcome(item=item, context_id=found_in)
