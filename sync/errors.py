"""Sync's domain errors: a stable machine-readable `code` and a message for people."""

from __future__ import annotations

from astro.core.errors import DomainError


class SyncError(DomainError):
    code = "sync_error"
    status = 400


class SyncBusy(SyncError):
    """Another sync (or a held-run apply) holds the sync lock right now."""

    code = "sync_running"
    status = 409


class SyncRunNotFound(SyncError):
    code = "not_found"
    status = 404


class SyncNotHeld(SyncError):
    """Only an unresolved held run can be applied or discarded."""

    code = "sync_not_held"
    status = 409


class SyncHeldStale(SyncError):
    """The database moved since the run was held: its diff no longer applies as reviewed."""

    code = "sync_held_stale"
    status = 409


class SyncInvalidInput(SyncError):
    code = "invalid_input"
    status = 400
