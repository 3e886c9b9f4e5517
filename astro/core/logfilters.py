"""Logging filters shared by every process (web, worker, beat).

The delivery poller wakes every couple of seconds. Celery logs three INFO lines
per wake (beat sent it, the worker received it, it succeeded), which would bury
everything else an operator reads. Those routine lines are dropped; a warning
or an error about the same task still shows, and so does everything the task
itself logs.
"""

from __future__ import annotations

import logging

# Celery's own bookkeeping loggers: beat's "Sending due task", the worker's
# "Task ... received" and "Task ... succeeded".
CELERY_BOOKKEEPING = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class RoutineTaskFilter(logging.Filter):
    def __init__(self, tasks: list[str] | tuple[str, ...] = ()):
        super().__init__()
        self.tasks = tuple(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith(CELERY_BOOKKEEPING):
            return True
        message = record.getMessage()
        return not any(task in message for task in self.tasks)
