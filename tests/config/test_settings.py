"""Settings are parsed strictly: a bad value stops startup with a message naming it.

These start a process on the production settings, the default of manage.py, wsgi
and Celery (the suite itself runs on config.settings.test).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
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


def test_production_never_defaults_to_the_sandbox(tmp_path):
    # Issue 12 #13: with DEBUG off and no STEAM_USERNAME, the mode must be named.
    result = _start({"DEBUG": "false", "STEAM_MODE": None, "STEAM_USERNAME": None})
    assert result.returncode != 0 and "STEAM_MODE is required when DEBUG is off" in result.stderr
    assert _start({"DEBUG": "false", "STEAM_MODE": "sandbox", "STEAM_USERNAME": None}).returncode == 0
    # A live setup (STEAM_USERNAME set) boots unchanged, in live mode.
    live = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.STEAM_MODE)"],
        cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k != "STEAM_MODE"}, "DEBUG": "false",
                       "STEAM_USERNAME": "real_bot", "DJANGO_SETTINGS_MODULE": "config.settings.production"},
        capture_output=True, text=True, timeout=120,
    )
    assert live.returncode == 0 and live.stdout.strip() == "live", live.stderr


def test_production_without_a_database_url_never_starts_an_embedded_one(tmp_path):
    result = _start({"DATABASE_URL": None, "ASTRO_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DATABASE_URL is required but not set" in result.stderr
    assert not (tmp_path / "postgres").exists()


def test_production_is_the_default_of_manage_py_wsgi_and_celery():
    for module in ("manage.py", "config/wsgi.py", "config/celery.py"):
        assert 'setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")' in (ROOT / module).read_text()


def test_importing_the_base_settings_starts_nothing(tmp_path):
    code = "import config.settings.base as base; print(base.DATABASE_URL)"
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "ASTRO_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # no server, no key file, no static folder


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


def test_manage_py_names_the_missing_setting_in_a_bare_environment(tmp_path):
    # Without this, Django swallows the settings error and the command dies with
    # "Models aren't loaded yet".
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ASTRO_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "DATABASE_URL is required but not set" in result.stderr
    assert "config.settings.dev" in result.stderr
    assert "AppRegistryNotReady" not in result.stderr
