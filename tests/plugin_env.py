"""Loaded by pytest before Django reads settings (pytest.ini: -p tests.plugin_env).

Tests run with DEBUG off, like production; only the secret and the cookie
flags (the browser tests talk plain http to a live server) are test values.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "astro.settings")
