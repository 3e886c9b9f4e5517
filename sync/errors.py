"""Sync's domain errors: a stable machine-readable `code` and a message for people."""

from __future__ import annotations


class SyncError(Exception):
    code = "sync_error"
    http_status = 400

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class SyncBusy(SyncError):
    """Another sync (or a held-run apply) holds the sync lock right now."""

    code = "sync_running"
    http_status = 409


class SyncRunNotFound(SyncError):
    code = "not_found"
    http_status = 404


class SyncNotHeld(SyncError):
    """Only an unresolved held run can be applied or discarded."""

    code = "sync_not_held"
    http_status = 409


class SyncHeldStale(SyncError):
    """The database moved since the run was held: its diff no longer applies as reviewed."""

    code = "sync_held_stale"
    http_status = 409


class SyncInvalidInput(SyncError):
    code = "invalid_input"
    http_status = 400
