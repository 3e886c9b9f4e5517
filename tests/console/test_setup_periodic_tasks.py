"""`setup_periodic_tasks` installs config/schedules.py into beat's tables, once, keeping operators' edits."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def test_schedules_are_installed_once_and_operator_edits_survive():
    call_command("setup_periodic_tasks", verbosity=0)
    call_command("setup_periodic_tasks", verbosity=0)
    names = [s.name for s in SCHEDULES]
    assert PeriodicTask.objects.filter(name__in=names).count() == len(names)
    sync_task = PeriodicTask.objects.get(name="Inventory sync")
    assert sync_task.task == "sync.tasks.sync_inventory_task" and sync_task.interval.every == 300
    assert json.loads(sync_task.kwargs) == {"trigger": "schedule", "actor": "system"}

    sync_task.enabled = False  # an operator pauses it in the admin
    sync_task.save()
    call_command("setup_periodic_tasks", verbosity=0)
    assert PeriodicTask.objects.get(name="Inventory sync").enabled is False
    call_command("setup_periodic_tasks", "--reset", verbosity=0)
    assert PeriodicTask.objects.get(name="Inventory sync").enabled is True
