"""Settings are parsed strictly: a bad value stops startup with a message naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _start(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_bad_boolean_names_the_variable():
    result = _start({"DEBUG": "ture"})
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    result = _start({"DEBUG": "false", "SECRET_KEY": None, "SECRET_KEY_FILE": None})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_configured_database_means_production_defaults():
    # DATABASE_URL is set for this run (a real or the embedded server): DEBUG defaults off.
    result = _start({"DEBUG": None, "SECRET_KEY": None, "SECRET_KEY_FILE": None})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-mounted-file-0123456789\n")
    result = _start({"DEBUG": "false", "SECRET_KEY": None, "SECRET_KEY_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_an_unreadable_secret_file_names_the_variable(tmp_path):
    result = _start({"SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "absent")})
    assert result.returncode != 0
    assert "SECRET_KEY_FILE=" in result.stderr and "cannot be read" in result.stderr


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("DELIVERY_MAX_ATTEMPTS", "three", "DELIVERY_MAX_ATTEMPTS='three' is not an integer"),
        ("DELIVERY_MAX_ATTEMPTS", "0", "DELIVERY_MAX_ATTEMPTS=0 is below the minimum 1"),
        ("STEAM_INVENTORIES", "730-2", "STEAM_INVENTORIES: '730-2' is not an appid/contextid pair"),
        ("STEAM_MODE", "staging", "STEAM_MODE='staging' must be one of"),
        ("DELIVERY_MAX_ATTEMPTS_BY_TYPE", "giveaway", "DELIVERY_MAX_ATTEMPTS_BY_TYPE: 'giveaway'"),
        ("DATABASE_URL", "sqlite:///astro.db", "DATABASE_URL must point at PostgreSQL"),
        ("DELIVERY_STUCK_AFTER_SECONDS", "60", "DELIVERY_STUCK_AFTER_SECONDS=60 must be at least CELERY_TASK_TIME_LIMIT=300"),
    ],
)
def test_malformed_values_name_their_variable(name, value, message):
    result = _start({name: value})
    assert result.returncode != 0
    assert message in result.stderr
