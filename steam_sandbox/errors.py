"""Errors raised by the sandbox's domain code, turned into HTTP answers by the routes."""

from __future__ import annotations


class ControlError(Exception):
    """A control-API request that cannot be done: a clear code, nothing changed."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class Refused(Exception):
    """Steam refusing an action, with the EResult it would give."""

    def __init__(self, eresult: int, reason: str = ""):
        super().__init__(reason or f"EResult {eresult}")
        self.eresult = eresult
        self.reason = reason


def bad_request(message: str, **details) -> ControlError:
    return ControlError(400, "bad_request", message, details)


def not_found(message: str, **details) -> ControlError:
    return ControlError(404, "not_found", message, details)


def invalid_state(message: str, **details) -> ControlError:
    return ControlError(409, "invalid_state", message, details)
