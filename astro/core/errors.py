"""Domain errors: what a service raises when a business rule says no.

Each carries a stable machine-readable `code`, a human `message`, optional
`details`, and the HTTP status the integration API answers with. Services raise
them without knowing about HTTP; the one API exception handler
(astro.core.api.errors.api_exception_handler) turns them into the error shape.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    status = 400
    message = "The request breaks a business rule."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, code: str | None = None):
        self.message = message or self.message
        self.details = details or {}
        if code:
            self.code = code
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message = "The resource is not in a state that allows this."


class InvalidInput(DomainError):
    """Input a serializer cannot judge alone (it needs the database or another field)."""

    code = "invalid_request"
    status = 400


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    message = "Not allowed."


class Unprocessable(DomainError):
    """Well-formed, but contradicts what this request means (e.g. a reused Idempotency-Key)."""

    code = "unprocessable"
    status = 422


class ServiceUnavailable(DomainError):
    """A dependency did not answer; nothing changed, the same request may succeed later."""

    code = "service_unavailable"
    status = 503


class UpstreamError(Exception):
    """A service outside Astro (Steam) refused or did not answer; nothing was changed.

    `astro.steam.errors.SteamError` subclasses it, so the API handler and the admin
    recognise such refusals without importing the gateway.
    """

    code = "upstream_error"
    service = "An outside service"
    # The API answers 503 with this code, naming `code` under details[details_key].
    unavailable_code = "upstream_unavailable"
    details_key = "upstreamCode"


def filterset_valid(filterset):
    """Return filterset.qs, or raise InvalidInput naming each bad query parameter.

    django-filter silently drops a filter whose value is invalid; for an API that
    would turn `?status=typo` into "everything", so it is an error instead.
    """
    if not filterset.is_valid():
        fields = {
            name: [{"code": e["code"] or "invalid", "message": e["message"]} for e in errors]
            for name, errors in filterset.errors.get_json_data().items()
        }
        first = next(iter(fields.items()))
        raise InvalidInput(f"{first[0]}: {first[1][0]['message']}", details={"fields": fields})
    return filterset.qs
