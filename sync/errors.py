"""Sync's domain errors: a stable machine-readable `code` and a message for people.

Each is one of the core's kinds (Conflict, NotFound, InvalidInput), which decide
the HTTP status; `SyncError` marks them as sync's.
"""

from __future__ import annotations

from astro.core.errors import Conflict, DomainError, InvalidInput, NotFound


class SyncError(DomainError):
    code = "sync_error"


class SyncBusy(SyncError, Conflict):
    """Another sync (or a held-run apply) holds the sync lock right now."""

    code = "sync_running"


class SyncRunNotFound(SyncError, NotFound):
    code = "not_found"


class SyncNotHeld(SyncError, Conflict):
    """Only an unresolved held run can be applied or discarded."""

    code = "sync_not_held"


class SyncHeldStale(SyncError, Conflict):
    """The database moved since the run was held: its diff no longer applies as reviewed."""

    code = "sync_held_stale"


class SyncInvalidInput(SyncError, InvalidInput):
    code = "invalid_input"
