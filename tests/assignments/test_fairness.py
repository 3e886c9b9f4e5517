"""No system can push its deliveries ahead of everyone else's (issue 12 #12): priority is
clamped to the system's max_priority, and within one priority the sweeper lets the
systems take turns."""

from __future__ import annotations

import pytest

from assignments.delivery.sweep import due_work
from assignments.models import Assignment
from assignments.services import assignment_create
from astro.integrations.services import external_system_create
from audit.models import SystemEvent
from tests.support.factories import make_item, make_user

pytestmark = pytest.mark.django_db


def create(system: str, priority: int = 0) -> Assignment:
    return assignment_create(user_id=make_user().steam_id, item_ids=[make_item().id], assignment_type="giveaway",
                             external_system=system, actor=system, priority=priority)


def test_priority_is_silently_clamped_to_the_systems_ceiling():
    external_system_create(slug="greedy", max_priority=10, actor="ops", source="command")
    external_system_create(slug="modest", max_priority=-5, actor="ops", source="command")

    assert create("greedy", 1000).assignment_priority == 10
    assert create("greedy", 3).assignment_priority == 3
    assert create("greedy", -1000).assignment_priority == -1000
    assert create("modest", 0).assignment_priority == -5
    event = SystemEvent.objects.filter(event_type="assignment.created", external_system="greedy").order_by(
        "created_at").first()
    assert (event.event_data["priority"], event.event_data["requestedPriority"]) == (10, 1000)


def test_within_one_priority_the_sweeper_lets_systems_take_turns():
    # A flood from one system must not hold back another's first assignment.
    flood = [create("flood") for _ in range(5)]
    late = [create("late") for _ in range(2)]
    urgent = create("late", 5)

    order = [str(assignment_id) for assignment_id, _ in due_work()]
    assert len(order) == 8

    assert order[0] == str(urgent.id)  # priority first
    assert order[1:5] == [str(flood[0].id), str(late[0].id), str(flood[1].id), str(late[1].id)]
    assert order[5:] == [str(a.id) for a in flood[2:]]
