"""One sync at a time, across every worker, process and machine.

A session-level PostgreSQL advisory lock taken on a dedicated connection that
nothing else uses: it cannot be lost when Django recycles its own connection
mid-run, and PostgreSQL releases it by itself if the process dies (the
connection closes), so a crashed sync never blocks the next one.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import psycopg
from django.db import connection

# Advisory lock keys are one bigint per database; this one is b"AstroSyn".
SYNC_LOCK_KEY = 0x417374726F53796E


def _connect() -> psycopg.Connection:
    # The same server, database and options as Django's connection (the test database in tests).
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return psycopg.connect(**params, autocommit=True, application_name="astro-sync-lock")


@contextmanager
def sync_lock() -> Iterator[bool]:
    """Yield True while this process holds the sync lock, False if someone else does."""
    conn = _connect()
    try:
        acquired = conn.execute("SELECT pg_try_advisory_lock(%s)", (SYNC_LOCK_KEY,)).fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired and not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SYNC_LOCK_KEY,))
    finally:
        conn.close()

