"""The one Celery app. Settings come from Django settings (CELERY_*).

Every task's base class queues `.delay()` on commit (astro.core.tasks.OnCommitTask).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("astro", task_cls="astro.core.tasks:OnCommitTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
