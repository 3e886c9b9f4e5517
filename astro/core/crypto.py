"""Secrets at rest: the Steam refresh token in PostgreSQL, session cookies and access
tokens in the cache.

Fernet (AES-128-CBC with an HMAC-SHA256, from the `cryptography` package) through
MultiFernet, so keys can be rotated: the first key of `ASTRO_ENCRYPTION_KEYS`
encrypts, every key decrypts. Keys are Fernet keys (32 url-safe base64 bytes),
newest first, comma-separated (or one a line in `ASTRO_ENCRYPTION_KEYS_FILE`).

In DEBUG a key is generated once per checkout into `.astro/` like the dev
SECRET_KEY; with DEBUG off the settings refuse to start without one (a key made up
at start would make yesterday's ciphertexts unreadable after a restart).
"""

from __future__ import annotations

import re
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from astro.core import embedded

DEV_KEY_FILE = "dev-encryption-key"


class DecryptionFailed(Exception):
    """The ciphertext was not made with any configured key, or was altered."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(raw: str | None, *, name: str = "ASTRO_ENCRYPTION_KEYS") -> list[str]:
    """`key1,key2` (or one a line) -> the keys, each checked to be a Fernet key.

    A malformed key stops start-up naming its position, never its value.
    """
    keys = [part for part in re.split(r"[,\s]+", raw or "") if part]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
            ) from None
    return keys


def dev_encryption_key() -> str:
    """One random key per checkout, kept in .astro/ (DEBUG only), like the dev SECRET_KEY."""
    path = embedded.data_root() / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


_lock = threading.Lock()
_built: tuple[tuple[str, ...], MultiFernet] | None = None


def _fernet() -> MultiFernet:
    global _built
    keys = tuple(getattr(settings, "ASTRO_ENCRYPTION_KEYS", None) or ())
    if not keys:
        raise ImproperlyConfigured("ASTRO_ENCRYPTION_KEYS is not set: no secret can be encrypted or read.")
    with _lock:
        if _built is None or _built[0] != keys:  # settings changed (tests rotate keys)
            _built = (keys, MultiFernet([Fernet(key) for key in keys]))
        return _built[1]


def encrypt(text: str) -> str:
    """`text` encrypted with the newest key, as an ASCII token."""
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text of a token made by `encrypt` with any configured key."""
    try:
        return _fernet().decrypt(token.encode() if isinstance(token, str) else token).decode()
    except (InvalidToken, TypeError, UnicodeError):
        raise DecryptionFailed("the secret cannot be decrypted with any configured ASTRO_ENCRYPTION_KEYS key") from None


def rotate(token: str) -> str:
    """The same secret under the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("the secret cannot be decrypted with any configured ASTRO_ENCRYPTION_KEYS key") from None

