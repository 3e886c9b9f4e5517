"""astro.core.crypto: secrets at rest under MultiFernet, keys from settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from astro.core import crypto

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip_and_the_ciphertext_hides_the_text():
    token = crypto.encrypt("refresh-token-value")
    assert "refresh-token-value" not in token
    assert crypto.decrypt(token) == "refresh-token-value"


def test_rotation_old_keys_still_decrypt_and_rotate_moves_to_the_newest(settings):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.ASTRO_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt("secret")
    settings.ASTRO_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.ASTRO_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token)


def test_a_tampered_or_foreign_token_is_refused(settings):
    token = crypto.encrypt("secret")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token[:-4] + "AAAA")
    settings.ASTRO_ENCRYPTION_KEYS = [crypto.generate_key()]
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token)


def test_keys_are_checked_and_a_bad_one_is_named_by_position_not_value():
    good = crypto.generate_key()
    assert crypto.parse_keys(f"{good}, {good}\n") == [good, good]
    assert crypto.parse_keys(None) == []
    with pytest.raises(ImproperlyConfigured) as bad:
        crypto.parse_keys(f"{good},not-a-key-value")
    assert "key 2" in str(bad.value) and "not-a-key-value" not in str(bad.value)


def test_no_keys_means_no_encryption(settings):
    settings.ASTRO_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("secret")


def _start(settings_module: str, overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    code = "import django; django.setup(); from django.conf import settings; print(settings.ASTRO_ENCRYPTION_KEYS[0])"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_key():
    result = _start("config.settings.production", {"DEBUG": "false", "ASTRO_ENCRYPTION_KEYS": None,
                                                   "ASTRO_ENCRYPTION_KEYS_FILE": None})
    assert result.returncode != 0
    assert "ASTRO_ENCRYPTION_KEYS is required when DEBUG is off" in result.stderr


def test_keys_can_come_from_a_file(tmp_path):
    key = crypto.generate_key()
    (tmp_path / "keys").write_text(f"{key}\n{crypto.generate_key()}\n")
    result = _start("config.settings.production", {"DEBUG": "false", "ASTRO_ENCRYPTION_KEYS": None,
                                                   "ASTRO_ENCRYPTION_KEYS_FILE": str(tmp_path / "keys")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_debug_generates_one_dev_key_per_checkout(tmp_path):
    overrides = {"DEBUG": "true", "ASTRO_ENCRYPTION_KEYS": None, "ASTRO_ENCRYPTION_KEYS_FILE": None,
                 "ASTRO_DATA_DIR": str(tmp_path)}
    first = _start("config.settings.production", overrides)
    second = _start("config.settings.production", overrides)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip() == (tmp_path / crypto.DEV_KEY_FILE).read_text().strip()
