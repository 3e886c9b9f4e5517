"""Queueing tasks: on commit, by name, never an error for committed work.

A task queued inside a transaction that later rolls back would act on rows that
never existed; one queued before commit could run before its rows are visible to
the worker. So:

- `OnCommitTask` is the Celery app's base task class (config/celery.py,
  `task_cls`): `task.delay(...)` waits for the current transaction to commit (it
  runs at once outside one). `apply_async` is left as Celery has it, so
  `Task.retry()` and explicit scheduling behave as documented.
- `enqueue("app.task_name", ...)` is how services queue work: by the task's
  registered name, so a service never imports the tasks module that imports it.

Both are robust: when the broker is down at that moment, the committed work must
not turn into an error for the caller. The failure is logged, and the periodic
sweeps (delivery sweeper, scheduled sync) pick the work up from the database.
"""

from __future__ import annotations

from functools import partial

from celery import Task, signature
from django.db import transaction


class OnCommitTask(Task):
    def delay(self, *args, **kwargs):
        transaction.on_commit(partial(self.apply_async, args, kwargs), robust=True)


def enqueue(task_name: str, *args, countdown: float | None = None, expires: float | None = None, **kwargs) -> None:
    """Queue the task registered as `task_name` once the current transaction commits."""
    task = signature(task_name, args=args, kwargs=kwargs)
    options = {key: value for key, value in (("countdown", countdown), ("expires", expires)) if value}
    transaction.on_commit(partial(task.apply_async, **options), robust=True)
