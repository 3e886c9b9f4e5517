"""The test suite: real PostgreSQL and Redis (embedded when none are configured), DEBUG off
as in production. Only the secret and the cookie flags are test values: the browser
tests talk plain http to a live server."""

import os

from astro.core import embedded

ASTRO_CONFIGURED_SERVICES = embedded.ensure_services()
# Exported, not just set: the Celery workers and sandboxes the suite starts read them.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
# The suite talks to the Steam sandbox (DEBUG is off, so the mode must be named).
os.environ.setdefault("STEAM_MODE", "sandbox")
# A fixed test-only Fernet key: DEBUG is off here, as in production, so one is required.
os.environ.setdefault("ASTRO_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTAxMjM0NTY=")
# Steam's pacing (4 s between inventory pages, 10 s between confirmation rounds) shared
# through Redis would make every test wait for the one before; the pacing tests set their own.
os.environ.setdefault("STEAM_INVENTORY_PACING_SECONDS", "0")
os.environ.setdefault("STEAM_CONFIRMATION_PACING_SECONDS", "0")

from config.settings.base import *  # noqa: E402,F403

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

apply_debug_defaults(globals())  # noqa: F405
