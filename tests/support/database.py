"""URLs for the server the suite runs on, for child processes and other roles."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def database_url(*, user: str | None = None, password: str | None = None, name: str | None = None) -> str:
    """A postgresql:// URL for the suite's server, by default as the suite's own role and database."""
    s = connection.settings_dict
    auth = quote(user if user is not None else (s["USER"] or ""), safe="")
    secret = password if password is not None else (s.get("PASSWORD") if user is None else None)
    if secret:
        auth += ":" + quote(secret, safe="")
    # A socket directory (the embedded server) travels percent-encoded as the host.
    host = quote(s.get("HOST") or "127.0.0.1", safe="")
    return f"postgresql://{auth}@{host}:{s.get('PORT') or 5432}/{name or s['NAME']}"
