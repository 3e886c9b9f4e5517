"""Steam's secrets arithmetic, from the server side: TOTP codes, mobile-confirmation
keys, device ids, the login RSA key and JWT-shaped tokens the sandbox can verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
from pathlib import Path

import rsa

_TOTP_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"


def same(a: str, b: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (a client may send anything)."""
    return hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))


def totp_code(shared_secret: str, timestamp: int) -> str:
    """The 5-character Steam Guard code (the algorithm of steampy.guard / the mobile app)."""
    digest = hmac.new(base64.b64decode(shared_secret), struct.pack(">Q", timestamp // 30), hashlib.sha1).digest()
    start = digest[19] & 0xF
    full = struct.unpack(">I", digest[start : start + 4])[0] & 0x7FFFFFFF
    code = ""
    for _ in range(5):
        full, i = divmod(full, len(_TOTP_ALPHABET))
        code += _TOTP_ALPHABET[i]
    return code


def totp_valid(shared_secret: str, code: str, now: int, *, steps: int = 1) -> bool:
    """Steam accepts the code of the neighbouring 30 s windows too (clock drift)."""
    code = (code or "").strip().upper()
    return any(
        same(totp_code(shared_secret, now + 30 * k), code) for k in range(-steps, steps + 1)
    )


def confirmation_key(identity_secret: str, timestamp: int, tag: str) -> str:
    buffer = struct.pack(">Q", timestamp) + tag.encode("ascii", "replace")
    return base64.b64encode(hmac.new(base64.b64decode(identity_secret), buffer, hashlib.sha1).digest()).decode()


def device_id(steam_id: int | str) -> str:
    h = hashlib.sha1(str(steam_id).encode("ascii")).hexdigest()
    return f"android:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """JWT-shaped tokens (header {"typ":"JWT","alg":"EdDSA"} like Steam's) signed with an
    HMAC the sandbox keeps, so it can tell its own live tokens from forged or stale ones."""

    _HEADER = _b64url(json.dumps({"typ": "JWT", "alg": "EdDSA"}, separators=(",", ":")).encode())

    def __init__(self, secret: bytes):
        self._secret = secret

    def _sign(self, signing_input: str) -> str:
        return _b64url(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())

    def issue(self, claims: dict) -> str:
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{body}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def verify(self, token: str) -> dict | None:
        """The claims of a token this sandbox signed, or None (expiry is the caller's check)."""
        try:
            header, body, signature = (token or "").strip().split(".")
            if not same(self._sign(f"{header}.{body}"), signature):
                return None
            claims = json.loads(_b64url_decode(body))
        except (ValueError, TypeError):
            return None
        return claims if isinstance(claims, dict) else None

    def mac(self, *parts: str) -> str:
        return hmac.new(self._secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    secret = secrets.token_bytes(32)
    atomic_write_text(path, secret.hex())
    return secret


class LoginKey:
    """The RSA key of GetPasswordRSAPublicKey. A 2048-bit key (512 hex chars, like Steam's)
    takes pure-Python `rsa` a few seconds to make, so it is made once in the background
    at start-up and kept in the state directory."""

    def __init__(self, path: Path, *, cache: Path | None = None):
        self._path = path
        self._cache = cache
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.public: rsa.PublicKey | None = None
        self.private: rsa.PrivateKey | None = None
        self.timestamp = ""
        if not path.exists() and cache is not None and cache.exists():
            # Another sandbox of this checkout made one already: it is a sandbox-only
            # key for a sandbox-only password, so sharing it costs nothing.
            atomic_write_bytes(path, cache.read_bytes())
        if path.exists():
            self._load()
        else:
            threading.Thread(target=self._create, name="sandbox-rsa-keygen", daemon=True).start()

    def _load(self) -> None:
        data = json.loads(self._path.read_text())
        self.private = rsa.PrivateKey.load_pkcs1(data["private_pem"].encode())
        self.public = rsa.PublicKey(self.private.n, self.private.e)
        self.timestamp = data["timestamp"]
        self._ready.set()

    def _create(self) -> None:
        try:
            public, private = rsa.newkeys(2048)
            # Steam's key timestamp is an opaque decimal string that names the key.
            timestamp = str(secrets.randbelow(10**11) + 3 * 10**11)
            text = json.dumps({"private_pem": private.save_pkcs1().decode(), "timestamp": timestamp})
            atomic_write_text(self._path, text)
            if self._cache is not None and not self._cache.exists():
                atomic_write_text(self._cache, text)
            self.public, self.private, self.timestamp = public, private, timestamp
        except BaseException as exc:  # surfaced to the request that waits for the key
            self._error = exc
        finally:
            self._ready.set()

    def wait(self, timeout: float = 120) -> None:
        if not self._ready.wait(timeout):
            raise TimeoutError("the sandbox's login RSA key is still being generated")
        if self._error is not None:
            raise RuntimeError(f"could not create the login RSA key: {self._error}")

    def decrypt_password(self, encrypted_b64: str) -> str | None:
        self.wait()
        try:
            return rsa.decrypt(base64.b64decode(encrypted_b64), self.private).decode("utf-8")
        except (rsa.DecryptionError, ValueError, UnicodeDecodeError):
            return None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it, so a crash
    or a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
