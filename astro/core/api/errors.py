"""The one exception handler: every API error has the same JSON shape.

    {"error": {"code": "items_unavailable", "message": "...", "details": {...}}}

`code` is stable (clients branch on it), `message` is for humans, `details`
holds per-field errors (`details.fields`, keyed by the camelCase field name, with
dotted paths into lists and objects) or operation-specific data.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request as html_bad_request
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import Serializer, CharField, DictField, JSONField

from astro.core.casing import camel
from astro.core.errors import DomainError, UpstreamError

log = logging.getLogger("astro.api")

# Field error codes answered as the top-level code (a malformed trade URL is
# `invalid_trade_url`, as is a URL of another account, which only the service can tell).
PROMOTED_FIELD_CODES = {"invalid_trade_url"}

# SQLSTATEs that mean "a concurrent transaction got in the way; the same request may succeed now".
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}

_DRF_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def _flatten(detail, path: str = "") -> dict[str, list[dict[str, str]]]:
    """DRF's nested ValidationError detail -> {"itemIds.2": [{"code", "message"}], ...}."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = "request" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{path}.{key}" if path else key))
    elif isinstance(detail, list) and detail and all(isinstance(d, exceptions.ErrorDetail) for d in detail):
        out[path or "request"] = [{"code": d.code, "message": str(d)} for d in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                out.update(_flatten(value, f"{path}.{index}" if path else str(index)))
    elif isinstance(detail, exceptions.ErrorDetail):
        out[path or "request"] = [{"code": detail.code, "message": str(detail)}]
    return out


def _request_values(context) -> list[tuple[str, str]]:
    """(parameter name, raw value) of everything the client sent: query, path, top-level body fields."""
    request, values = context.get("request"), []
    if request is not None:
        values += [(name, raw) for name, raws in request.query_params.lists() for raw in raws]
    values += [(camel(name), str(raw)) for name, raw in (context.get("kwargs") or {}).items()]
    data = getattr(request, "_full_data", None)  # only what was parsed already: never parse again here
    if isinstance(data, dict):
        values += [(name, raw if isinstance(raw, str) else json.dumps(raw, default=str)) for name, raw in data.items()]
    return values


def _data_error_response(exc, context) -> Response:
    """A value PostgreSQL (DataError, 22xxx: out of range, malformed, NUL) or a model
    field (Django's ValidationError, converting it for a query) refused: the client's
    input, so a 400 naming the parameter whose value the refusal quotes.

    The views check every input against the schema first; this is the net under them,
    so that a check that was missed is a clear 400, never a 500."""
    cause = exc.__cause__
    said = getattr(getattr(cause, "diag", None), "message_primary", None) or " ".join(
        getattr(exc, "messages", None) or [str(exc)])
    values = _request_values(context)
    named = [name for name, raw in values
             if raw and ("\x00" in raw or raw in said or raw.replace("T", " ") in said)]
    if not named and len(values) == 1:
        named = [values[0][0]]
    name = named[0] if named else "request"
    log.warning("database refused a value of %s: %s", name, said)
    message = "The database cannot store or compare this value (out of range or malformed)."
    return Response(error_body("invalid_request", f"{name}: {message}",
                               {"fields": {name: [{"code": "invalid", "message": message}]}}), status=400)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc, context):
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, UpstreamError):
        # Only the delivery engine's cancel talks to Steam during a request; it changes nothing when Steam fails.
        log.warning("%s error during an API request: %s", exc.service, exc.code)
        return Response(
            error_body(exc.unavailable_code, f"{exc.service} did not answer; nothing changed. Retry later.",
                       {exc.details_key: exc.code}),
            status=503, headers={"Retry-After": "30"},
        )
    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads request.body).
        return Response(error_body("payload_too_large", "The request body is too large.", {}), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request was refused as malformed.", {}), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), None)
        message = f"{first[0]}: {first[1][0]['message']}" if first else "Invalid request."
        codes = {problem["code"] for problems in fields.values() for problem in problems}
        if len(codes) == 1 and (code := codes.pop()) in PROMOTED_FIELD_CODES:
            # A field error that has its own top-level code elsewhere keeps it here.
            details = {"fields": fields, "field": first[0], "reason": "malformed"}
            return Response(error_body(code, message, details), status=400)
        return Response(error_body("invalid_request", message, {"fields": fields}), status=400)
    if isinstance(exc, exceptions.APIException):
        # DRF's own classes get our names; our subclasses carry theirs in default_code.
        code = _DRF_CODES.get(type(exc), exc.default_code)
        details = dict(getattr(exc, "error_details", None) or {})
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            wait = max(1, int(exc.wait + 0.999))
            headers["Retry-After"] = str(wait)
            details["retryAfterSeconds"] = wait
            message = f"Too many requests {getattr(exc, 'who', 'for this API key')}; retry in {wait} s."
        else:
            message = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else exc.default_detail
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            # DRF's handle_exception put the view's scheme on the exception.
            if auth_header := getattr(exc, "auth_header", None):
                headers["WWW-Authenticate"] = auth_header
            status_code = status.HTTP_401_UNAUTHORIZED
        else:
            status_code = exc.status_code
        return Response(error_body(str(code), message, details), status=status_code, headers=headers)
    if isinstance(exc, (DataError, DjangoValidationError)):
        return _data_error_response(exc, context)
    if isinstance(exc, OperationalError) and getattr(getattr(exc, "__cause__", None), "sqlstate", None) in RETRYABLE_SQLSTATES:
        log.warning("retryable database conflict: %s", exc)
        return Response(
            error_body("database_conflict", "A concurrent change got in the way; retry the request.", {}),
            status=503, headers={"Retry-After": "1"},
        )
    if isinstance(exc, RedisError):
        # Throttle counters and the Steam session live in Redis: without it nothing is decided.
        log.error("Redis unavailable during an API request: %s", type(exc).__name__)
        return Response(error_body("service_unavailable", "A dependency (Redis) is unavailable; retry later.", {}),
                        status=503, headers={"Retry-After": "5"})
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.exception("database unavailable during an API request")
        return Response(error_body("service_unavailable", "The database is unavailable; retry later.", {}),
                        status=503, headers={"Retry-After": "5"})
    log.exception("unhandled error in API request")
    return Response(error_body("internal_error", "Internal error; it has been logged.", {}), status=500)


@csrf_exempt  # a POST to a wrong URL is a 404, not a CSRF failure page
def api_not_found(request, *args, **kwargs):
    """Catch-all for unknown /api/ URLs: JSON, not Django's HTML 404."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)


def bad_request(request, exception=None):
    """Django's 400 (a disallowed Host, a malformed request): JSON under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "The request was refused as malformed."), status=400)
    return html_bad_request(request, exception)


class ErrorDetailSerializer(Serializer):
    code = CharField(help_text="Stable machine-readable error code.")
    message = CharField(help_text="Human-readable explanation.")
    details = DictField(
        child=JSONField(),
        help_text="Per-field errors under `fields` ({field path: [{code, message}]}) or operation-specific data.",
    )


class ErrorSerializer(Serializer):
    error = ErrorDetailSerializer()


def error_serializer(name: str, details: type[Serializer]) -> type[Serializer]:
    """The error shape with an operation's own `details` schema, for the OpenAPI schema
    (the component is named `<name>Error`); the body on the wire is the same shape."""
    detail = type(f"{name}ErrorDetail", (ErrorDetailSerializer,), {
        "details": details(help_text="Per-field errors under `fields`, or this operation's data."),
    })
    return type(f"{name}Error", (Serializer,), {"error": detail()})
