"""The delivery poll's routine Celery lines stay out of the log; nothing else does."""

from __future__ import annotations

import logging

import pytest
from celery.app import trace
from django.conf import settings

from astro.core.logfilters import RoutineTaskFilter


def celery_record(logger: str, level: int, msg: str, args) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, msg, args, None)


def console_filter() -> RoutineTaskFilter:
    spec = settings.LOGGING["filters"]["routine_tasks"]
    assert "routine_tasks" in settings.LOGGING["handlers"]["console"]["filters"]
    return RoutineTaskFilter(tasks=spec["tasks"])


POLL = {"name": "assignments.poll_offers", "id": "1f0e", "runtime": 0.01, "return_value": {}}
DELIVER = {**POLL, "name": "assignments.deliver_assignment"}


@pytest.mark.parametrize("record", [
    celery_record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("Delivery poll", "assignments.poll_offers")),
    celery_record("celery.worker.strategy", logging.INFO, trace.LOG_RECEIVED, POLL),
    celery_record("celery.app.trace", logging.INFO, trace.LOG_SUCCESS, POLL),
])
def test_the_polls_routine_lines_are_dropped(record):
    assert console_filter().filter(record) is False


@pytest.mark.parametrize("record", [
    # Other tasks keep their lines: a delivery or a sync is worth reading.
    celery_record("celery.app.trace", logging.INFO, trace.LOG_SUCCESS, DELIVER),
    celery_record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("Inventory sync", "sync.tasks.sync_inventory_task")),
    # The poll failing is never routine.
    celery_record("celery.app.trace", logging.ERROR, trace.LOG_FAILURE, {**POLL, "exc": "boom", "description": "raised"}),
    # What the poll itself logs is not Celery bookkeeping.
    celery_record("assignments.delivery.poll", logging.INFO, "assignments.poll_offers applied %d states", (3,)),
])
def test_everything_else_is_kept(record):
    assert console_filter().filter(record) is True


def test_a_request_warning_is_logged_once():
    # Django's default "django" handler would print it again, unformatted.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").propagate
