"""Many clients claiming overlapping items at once: PostgreSQL decides, nobody double-spends."""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest

from assignments.models import Assignment, AssignmentItem
from audit.models import SystemEvent
from items.models import Item
from tests.api.concurrency import run_at_once
from tests.api.conftest import RecordingClient, assignment_body

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50
ITEMS = 30
PER_REQUEST = 3


def test_fifty_clients_claiming_overlapping_items(make_client, make_items):
    items = make_items(ITEMS)
    rng = random.Random(20260101)
    requests_ = [rng.sample([i.id for i in items], PER_REQUEST) for _ in range(THREADS)]
    users = [76561198000000100 + n for n in range(THREADS)]
    key_header = make_client()._credentials["HTTP_AUTHORIZATION"]

    def post(n):
        own = RecordingClient()
        own.credentials(HTTP_AUTHORIZATION=key_header)
        response = own.post("/api/assignments", assignment_body(requests_[n], user=users[n]), format="json")
        return response.status_code, response.json()

    results = run_at_once(THREADS, post)

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= ITEMS // (PER_REQUEST * 3)  # some won (the first request always can)
    winners = {body["id"]: n for n, (status, body) in enumerate(results) if status == 201}

    # Every item is in at most one assignment, and exactly the winners hold items.
    rows = list(AssignmentItem.objects.values_list("assignment_id", "item_id"))
    per_item = Counter(item_id for _, item_id in rows)
    assert max(per_item.values()) == 1
    assert {str(a) for a, _ in rows} == set(winners)
    assert Assignment.objects.count() == len(winners)
    held_by = {item_id: str(a) for a, item_id in rows}
    for assignment_id, n in winners.items():
        assert {i for i, a in held_by.items() if a == assignment_id} == set(requests_[n])  # all, not some
    for item in Item.objects.all():
        if item.id in held_by:
            assert item.status == "reserved"
            assert item.assigned_to_user_id == users[winners[held_by[item.id]]]
        else:
            assert (item.status, item.assigned_to_user_id) == ("available", None)  # no partial claim left behind

    # Every loser was refused because a winner holds one of its items, and said which.
    for n, (status, body) in enumerate(results):
        if status == 409:
            assert body["error"]["code"] == "items_unavailable"
            listed = {entry["itemId"]: entry["reason"] for entry in body["error"]["details"]["items"]}
            assert listed and set(listed.values()) == {"reserved"}
            assert {str(i) for i in requests_[n]} >= set(listed)
            assert all(uuid.UUID(i) in held_by for i in listed)

    assert SystemEvent.objects.filter(event_type="item.reserved").count() == len(rows)
    assert SystemEvent.objects.filter(event_type="assignment.created").count() == len(winners)
