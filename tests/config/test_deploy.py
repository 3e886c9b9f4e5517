"""Behind a TLS proxy the deployment checks are clean, plain HTTP is redirected, and
the health check still answers over plain HTTP (load balancers probe it that way)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_behind_a_tls_proxy():
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "DEBUG": "false",
        "BEHIND_TLS_PROXY": "true", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "astro.example.com",
        "STEAM_MODE": "sandbox",
    }
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for this process (Playwright's loop);
    # a deployment never has it, and Django's deploy check rightly refuses it.
    for harness_only in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(harness_only, None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_plain_http_is_redirected_but_the_health_check_answers(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/admin/login/").status_code == 301
    assert client.get("/api/health").status_code in (200, 503)  # answered, not redirected
