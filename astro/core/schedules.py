"""Periodic tasks as data, and installing them into django-celery-beat's tables.

The list itself is wiring (config/schedules.py, named by the ASTRO_SCHEDULES
setting); this is the machinery the console's `setup_periodic_tasks` runs on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str  # PeriodicTask.name: unique, shown in the admin
    task: str  # the Celery task's registered name
    every_seconds: Callable[[], int]  # read when installing, so settings apply
    kwargs: dict = field(default_factory=dict)
    description: str = ""


def install_schedules(schedules: list[Schedule], *, reset: bool = False) -> list[tuple[str, str]]:
    """Create the missing PeriodicTasks (and reset existing ones with `reset`).

    Idempotent; never overwrites an operator's edits to an existing entry unless `reset`.

    Returns (name, "created" | "reset" | "kept") for each schedule.
    """
    results = []
    for schedule in schedules:
        interval, _ = IntervalSchedule.objects.get_or_create(every=schedule.every_seconds(), period="seconds")
        values = {
            "task": schedule.task, "interval": interval, "kwargs": json.dumps(schedule.kwargs),
            "description": schedule.description, "enabled": True,
        }
        existing = PeriodicTask.objects.filter(name=schedule.name).first()
        if existing is None:
            PeriodicTask.objects.create(name=schedule.name, **values)
            results.append((schedule.name, "created"))
        elif reset:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.save()
            results.append((schedule.name, "reset"))
        else:
            results.append((schedule.name, "kept"))
    return results
