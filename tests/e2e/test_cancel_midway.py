"""A cancel that dies midway resumes as a cancel, never as a send (issue 11 #6, issue 12 #9).

The API's cancel of a processing assignment holds it (`cancelling`) while it looks
on Steam for an offer of it. A process killed right there leaves the hold; the
sweeper used to take that stale hold for a stuck send, and a worker sent the
items the caller had asked to cancel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.delivery import delivery_run, delivery_sweep
from assignments.models import Assignment
from audit.models import SystemEvent
from tests.assignments.delivery_support import assign, item_statuses, our_offers, reload, steam_user, stock
from tests.support.database import database_url
from tests.support.waiting import wait_for
from tests.support.workers import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANCEL = """
from assignments.services import assignment_cancel
assignment_cancel(assignment_id={id!r}, actor="web_shop", source="api", reason="refunded")
"""


def test_a_cancel_killed_while_it_looks_on_steam_is_finished_as_a_cancel(sandbox, celery_worker_factory, settings):
    stuck_after = 15
    lease = dict(DELIVERY_STUCK_AFTER_SECONDS=stuck_after, CELERY_TASK_TIME_LIMIT=15, CELERY_TASK_SOFT_TIME_LIMIT=12)
    settings.DELIVERY_STUCK_AFTER_SECONDS = stuck_after
    remote, user = steam_user(sandbox, "accept")
    items = stock(sandbox)
    assignment = assign(user, items)
    # Attempt 1 fails on Steam's side: processing, no offer; a cancel must look on Steam.
    sandbox.set_fault(kind="send_error", eresult=20, count=1)
    assert delivery_run(assignment_id=assignment.id).outcome == "steam_unavailable"
    # The cancel's look on Steam hangs; the process is killed inside it.
    sandbox.set_fault(kind="latency", ms=120_000, pathPrefix="/IEconService/GetTradeOffers/", count=1)
    env = {**os.environ, "DATABASE_URL": database_url(), "STEAM_SANDBOX_URL": sandbox.url, "STEAM_MODE": "sandbox",
           "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    cancel = subprocess.Popen([sys.executable, "manage.py", "shell", "-c", CANCEL.format(id=str(assignment.id))],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: reload(assignment).status_reason == "cancelling" and not sandbox.faults(),
                 timeout=90, what="the cancel to hold the assignment and look on Steam")
    finally:
        cancel.kill()
        cancel.wait(timeout=30)
    sandbox.clear_faults()
    # The hold goes stale (as after DELIVERY_STUCK_AFTER_SECONDS).
    Assignment.objects.filter(id=assignment.id).update(
        last_delivery_attempt_at=timezone.now() - timedelta(seconds=stuck_after + 5))

    assert delivery_run(assignment_id=assignment.id).outcome == "not_due"  # never taken for a stuck send
    celery_worker_factory(**lease)

    def cancelled():
        delivery_sweep()  # what beat does every minute
        return reload(assignment).status == "cancelled"

    wait_for(cancelled, timeout=90, interval=2.0, what="the sweeper to resume the cancel")
    assert our_offers(sandbox, remote) == []  # the items were never offered
    assert item_statuses(items) == {"available"}
    event = SystemEvent.objects.get(assignment=assignment, event_type="assignment.cancelled")
    assert (event.actor, event.source, event.event_data["reason"]) == ("web_shop", "api", "refunded")
