"""Wiring only: settings per environment, URLs, the Celery app, health, schedules."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
