"""Who acts in the current request: the API key behind it, for the audit trail.

The API's base view opens a scope around each request and binds the key once it is
authenticated; `audit.services.record_event` reads it, so every event an API request
writes names the key that caused it (an operator can mint keys, and a system's slug
alone would not tell their requests from the system's own). A context variable, not a
thread-local: it is reset at the end of each request, and a worker thread that serves
the next request never sees the previous one's key.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ActingKey:
    id: str
    prefix: str


_acting_key: ContextVar[ActingKey | None] = ContextVar("astro_acting_api_key", default=None)


@contextmanager
def request_scope():
    """No key outside the block, whatever was bound inside it."""
    token = _acting_key.set(None)
    try:
        yield
    finally:
        _acting_key.reset(token)


def bind_api_key(*, key_id, prefix: str) -> None:
    """The request's key, until the enclosing request_scope ends."""
    _acting_key.set(ActingKey(id=str(key_id), prefix=prefix))


def current_api_key() -> ActingKey | None:
    return _acting_key.get()
