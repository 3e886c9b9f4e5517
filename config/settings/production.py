"""A deployment (the default of manage.py, wsgi and Celery): every service is configured.

Nothing embedded is ever started here: without DATABASE_URL or REDIS_URL startup
stops with a message naming the variable. DEBUG is off unless set, so SECRET_KEY
is required.
"""

from config.settings.base import *  # noqa: F403

apply_debug_defaults(globals())  # noqa: F405
