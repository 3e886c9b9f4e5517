"""Queueing helpers: tasks are sent when the transaction that asked for them commits."""

from __future__ import annotations

from django.db import transaction


def enqueue_on_commit(task, *args, countdown: float | None = None, **kwargs) -> None:
    """Queue `task` once the current transaction commits (at once outside one).

    A task queued inside a transaction that later rolls back would act on rows
    that never existed; one queued before commit could run before its rows are
    visible to the worker. `robust`: when the broker is down at that moment the
    committed work must not turn into an error for the caller — the failure is
    logged, and the periodic sweeps (delivery sweeper, scheduled sync) pick the
    work up from the database.
    """
    transaction.on_commit(
        lambda: task.apply_async(args=args, kwargs=kwargs, countdown=countdown), robust=True
    )
