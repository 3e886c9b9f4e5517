"""Shared API machinery: the strict JSON parser, cursor pagination, the base view."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from astro.core.api.errors import api_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class DuplicateKey(ValueError):
    pass


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _reject_duplicate_keys(pairs):
    # {"userId": 1, "userId": 2} is ambiguous; with money at stake we refuse to guess.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(f"duplicate key {key!r}")
        obj[key] = value
    return obj


class StrictJSONParser(JSONParser):
    """JSON only, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, no NaN/Infinity, no duplicate keys.

    DRF reads the body stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    check, so the limit is enforced here. Deep nesting makes json raise
    RecursionError rather than ValueError; both are the client's malformed JSON.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
        try:
            text = raw.decode("utf-8")
            return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_reject_duplicate_keys)
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise exceptions.ParseError(f"Malformed JSON: {reason}.") from None


class InvalidCursor(exceptions.APIException):
    status_code = 400
    default_code = "invalid_cursor"
    default_detail = "The cursor is invalid; use the `next`/`previous` URL exactly as returned."


class ApiCursorPagination(CursorPagination):
    """Opaque `cursor` links (`next`, `previous`); `pageSize` 1..200, default 50.

    Cursor pagination stays fast and consistent on large, changing tables, where
    page numbers would skip or repeat rows as items come and go.
    """

    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 200
    ordering = "-created_at"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise InvalidCursor() from None


class ApiView(APIView):
    """Base of every integration-API view: strict JSON, one error shape, scopes per method.

    Authentication, the scope check and throttling are REST_FRAMEWORK's defaults,
    named by dotted path in settings (the Api-Key classes of astro.integrations),
    so no app's views import the app that owns the keys.
    """

    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    # HTTP method -> scope, e.g. {"GET": "items:read"}.
    required_scopes: dict[str, str] = {}

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # DRF treats a body without Content-Type as empty data; refuse it instead,
        # so a client that forgot the header learns why its fields were "missing".
        if request.method in ("POST", "PUT", "PATCH") and not request.content_type:
            if int(request.META.get("CONTENT_LENGTH") or 0) > 0:
                raise exceptions.UnsupportedMediaType("", detail="Send the body as application/json.")

    @property
    def client(self):
        """The external system behind the request's key (astro.integrations.auth.ApiClient)."""
        return self.request.user
