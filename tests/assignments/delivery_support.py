"""Set-up helpers for the delivery tests: sandbox users, stock that exists both on the
sandbox bot and in the pool, and assignments made through the product's service."""

from __future__ import annotations

import re

from assignments.models import Assignment, DeliveryAttempt
from assignments.services import assignment_create
from audit.models import SystemEvent
from items.models import Item, SteamUser
from tests.support.factories import make_item, make_user
from tests.support.waiting import wait_for  # noqa: F401  (re-exported for the delivery tests)


def stock(sandbox, count: int = 1, *, items: list[dict] | None = None) -> list[Item]:
    """Items in the sandbox bot's inventory and, with the same asset ids, in the pool."""
    assets = sandbox.add_items(items=items) if items is not None else sandbox.add_items(count=count)
    return [
        make_item(
            steam_asset_id=int(a["assetid"]), steam_class_id=int(a["classid"]),
            steam_instance_id=int(a["instanceid"]), steam_app_id=int(a["appid"]),
            steam_context_id=int(a["contextid"]), market_hash_name=a["marketHashName"],
            item_name=a["name"] or a["marketHashName"],
        )
        for a in assets
    ]


def steam_user(sandbox, behaviour: str = "ignore", *, with_trade_url: bool = True, **options) -> tuple[dict, SteamUser]:
    """A sandbox user (who acts on offers as `behaviour` says) and its Astro user row."""
    remote = sandbox.create_user(behaviour, **options)
    user = make_user(int(remote["steamId"]), trade_url=remote["tradeUrl"] if with_trade_url else None)
    return remote, user


def assign(user: SteamUser, items: list[Item], **options) -> Assignment:
    return assignment_create(
        user_id=user.steam_id, item_ids=[i.id for i in items], assignment_type=options.pop("assignment_type", "giveaway"),
        external_system="test_system", actor="test-suite", **options,
    )


def reload(assignment: Assignment) -> Assignment:
    return Assignment.objects.get(id=assignment.id)


def attempts(assignment: Assignment) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(assignment=assignment).order_by("number"))


def event_types(assignment: Assignment) -> list[str]:
    return list(SystemEvent.objects.filter(assignment=assignment).order_by("created_at").values_list("event_type", flat=True))


def item_statuses(items: list[Item]) -> set[str]:
    return set(Item.objects.filter(id__in=[i.id for i in items]).values_list("status", flat=True))


def our_offers(sandbox, user_remote: dict, *, state: int | None = None) -> list[dict]:
    return sandbox.offers(partner=user_remote["steamId"], state=state)


_CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def assert_event_data_in_camel_case(assignment: Assignment) -> None:
    """Event data keys are written in the API's casing (offerId, not offer_id)."""
    events = SystemEvent.objects.filter(assignment=assignment)
    keys = {(event.event_type, key) for event in events for key in event.event_data}
    assert keys, "no event data to check"
    assert {(event_type, key) for event_type, key in keys if not _CAMEL_CASE.match(key)} == set()
