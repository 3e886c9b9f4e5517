"""Escrow and limits before sending (issue 11 #5): the partner's trade hold is read before
the first send, Steam's pending-offer limit queues the work, and every wait is
scheduled in the database (next_attempt_at and the sweeper), never a broker countdown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.delivery import delivery_run
from assignments.delivery.sweep import due_work
from assignments.models import Assignment, AttemptOutcome
from assignments.tasks import deliver_assignment_task
from tests.assignments.delivery_support import (
    assign,
    attempts,
    event_types,
    item_statuses,
    our_offers,
    reload,
    steam_user,
    stock,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_with_a_trade_hold_is_never_sent_an_offer_and_waits_with_the_reason(sandbox, settings):
    remote, user = steam_user(sandbox, "accept", escrowDays=15)
    items = stock(sandbox)
    assignment = assign(user, items)

    run = delivery_run(assignment_id=assignment.id)

    assert run.outcome == "escrow_hold"
    assert our_offers(sandbox, remote) == []
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason) == ("pending", "escrow_hold")
    assert "15 day(s)" in waiting.delivery_error_message and "Mobile Authenticator" in waiting.delivery_error_message
    recheck = waiting.next_attempt_at - timezone.now()
    assert timedelta(hours=5, minutes=59) < recheck <= timedelta(hours=6)
    assert waiting.delivery_attempts == 0 and attempts(assignment) == []
    assert item_statuses(items) == {"reserved"}
    assert event_types(assignment).count("assignment.waiting") == 1
    # Not due before the recheck: the sweeper leaves it alone.
    assert str(assignment.id) not in {str(a) for a, _ in due_work()}

    # The user adds an authenticator; at the recheck the offer goes out.
    sandbox.update_user(remote["steamId"], escrowDays=0)
    Assignment.objects.filter(id=assignment.id).update(next_attempt_at=timezone.now())
    assert str(assignment.id) in {str(a) for a, _ in due_work()}
    assert delivery_run(assignment_id=assignment.id).outcome == "sent"
    assert reload(assignment).waiting_since is None


def test_a_hold_that_does_not_go_away_fails_the_assignment_after_the_maximum_wait(sandbox, settings):
    remote, user = steam_user(sandbox, "accept", escrowDays=15)
    items = stock(sandbox)
    assignment = assign(user, items)
    assert delivery_run(assignment_id=assignment.id).outcome == "escrow_hold"
    assert delivery_run(assignment_id=assignment.id).outcome == "not_due"
    eight_days_ago = timezone.now() - timedelta(days=settings.STEAM_HOLD_MAX_WAIT_DAYS, hours=1)
    Assignment.objects.filter(id=assignment.id).update(waiting_since=eight_days_ago, next_attempt_at=timezone.now())

    assert delivery_run(assignment_id=assignment.id).outcome == "escrow_hold"

    failed = reload(assignment)
    assert (failed.status, failed.status_reason) == ("failed", "escrow_hold")
    assert item_statuses(items) == {"available"}
    assert our_offers(sandbox, remote) == []


def test_a_hold_below_the_operators_limit_is_sent(sandbox, settings):
    settings.STEAM_MAX_TRADE_HOLD_DAYS = 15
    remote, user = steam_user(sandbox, "ignore", escrowDays=15)
    assert delivery_run(assignment_id=assign(user, stock(sandbox)).id).outcome == "sent"


def test_the_pending_offer_limit_queues_the_work_and_counts_toward_the_attempts(sandbox, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    sandbox.set_config(maxPendingOffersPerPartner=1)
    remote, user = steam_user(sandbox, "ignore")
    first = assign(user, stock(sandbox))
    assert delivery_run(assignment_id=first.id).outcome == "sent"
    second = assign(user, stock(sandbox))

    run = delivery_run(assignment_id=second.id)

    queued = reload(second)
    assert run.outcome == "offer_limit"
    assert (queued.status, queued.status_reason) == ("pending", "offer_limit")
    assert queued.next_attempt_at > timezone.now()
    [attempt] = attempts(second)
    assert (attempt.outcome, attempt.counted, attempt.trade_offer_id) == (AttemptOutcome.LIMIT_EXCEEDED, True, None)
    assert len(our_offers(sandbox, remote)) == 1

    # Counted: the second refusal in a row is the last attempt.
    Assignment.objects.filter(id=second.id).update(next_attempt_at=timezone.now())
    assert delivery_run(assignment_id=second.id).outcome == "attempts_exhausted"
    assert reload(second).status == "failed"


def test_a_send_steam_failed_is_retried_by_the_sweeper_not_by_a_broker_countdown(sandbox):
    remote, user = steam_user(sandbox, "ignore")
    assignment = assign(user, stock(sandbox))
    sandbox.set_fault(kind="send_error", eresult=20, count=1)

    result = deliver_assignment_task.apply(args=[str(assignment.id)])

    # The task finished (no Celery retry with a countdown); the wait is in the row.
    assert (result.state, result.result) == ("SUCCESS", "steam_unavailable")
    waiting = reload(assignment)
    assert (waiting.status, waiting.status_reason) == ("processing", "steam_unavailable")
    assert str(assignment.id) not in {str(a) for a, _ in due_work()}
    assert str(assignment.id) in {str(a) for a, _ in due_work(now=waiting.next_attempt_at)}
