"""Deliveries wait for, resume on, and send to their own system's trade URL (issue 12 #1)."""

from __future__ import annotations

import pytest

from assignments.delivery import delivery_resume_for_user, delivery_run, delivery_sweep
from assignments.services import assignment_create
from items.services import user_set_trade_url
from tests.assignments.delivery_support import reload, steam_user, stock

pytestmark = pytest.mark.django_db(transaction=True)


def create(user, items, system: str, **options):
    return assignment_create(user_id=user.steam_id, item_ids=[i.id for i in items], assignment_type="giveaway",
                             external_system=system, actor=system, **options)


def test_a_systems_url_resumes_only_its_assignments_and_the_operators_only_those_without_one(sandbox):
    remote, user = steam_user(sandbox, "ignore", with_trade_url=False)
    first, second, third = (create(user, stock(sandbox), system) for system in ("a", "b", "c"))
    for assignment in (first, second, third):
        assert delivery_run(assignment_id=assignment.id).outcome == "trade_url_required"
    # b set a URL that Steam will refuse: it stays b's, the operator's does not replace it.
    stale = remote["tradeUrl"].replace(remote["tradeToken"], "Stale00")
    user_set_trade_url(steam_id=user.steam_id, trade_url=stale, actor="b", source="api", external_system="b")
    assert delivery_resume_for_user(steam_id=user.steam_id, external_system="b") == 0  # the signal did it already
    assert reload(second).status_reason is None
    assert reload(first).status_reason == "trade_url_required"

    user_set_trade_url(steam_id=user.steam_id, trade_url=remote["tradeUrl"], actor="a", source="api",
                       external_system="a")
    assert (reload(first).status_reason, reload(third).status_reason) == (None, "trade_url_required")
    assert delivery_sweep() == 2  # a's and b's, not c's: c has no URL at all

    assert delivery_run(assignment_id=first.id).outcome == "sent"
    assert delivery_run(assignment_id=second.id).outcome == "trade_url_invalid"  # b's own, stale token
    assert delivery_run(assignment_id=third.id).outcome == "not_due"

    user_set_trade_url(steam_id=user.steam_id, trade_url=remote["tradeUrl"], actor="ops", source="admin")
    assert reload(third).status_reason is None
    assert delivery_run(assignment_id=third.id).outcome == "sent"
    assert {o["id"] for o in sandbox.offers(partner=remote["steamId"])} == {
        reload(first).delivery_trade_offer_id, reload(third).delivery_trade_offer_id,
    }


def test_the_url_given_with_an_assignment_is_that_systems(sandbox):
    remote, user = steam_user(sandbox, "ignore", with_trade_url=False)
    theirs = create(user, stock(sandbox), "a", trade_url=remote["tradeUrl"])
    ours = create(user, stock(sandbox), "b")

    assert delivery_run(assignment_id=ours.id).outcome == "trade_url_required"
    assert delivery_run(assignment_id=theirs.id).outcome == "sent"
