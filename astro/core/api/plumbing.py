"""Shared API machinery: the strict JSON parser and the base view (pagination: astro.core.api.pagination)."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from astro.core import acting
from astro.core.api.errors import api_exception_handler
from astro.core.api.rates import parse_rate
from astro.core.clientip import client_ip
from astro.core.ratelimit import limit_take


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


class ThrottledWithoutKey(exceptions.Throttled):
    """Too many requests without a valid key from one address (API_ANON_RATE)."""

    default_code = "rate_limited"
    who = "from this address without a valid API key"


class ApiView(APIView):
    """Base of every integration-API view: strict JSON, one error shape, scopes per method.

    Authentication, the scope check and the per-key rate limit are REST_FRAMEWORK's
    defaults, named by dotted path in settings (the Api-Key classes of
    astro.integrations), so no app's views import the app that owns the keys.
    A request without a valid key is limited here, per client address.
    """

    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    # HTTP method -> scope, e.g. {"GET": "items:read"}. HEAD needs GET's scope, and an
    # implemented method without one is refused (astro.integrations.auth.HasScope).
    required_scopes: dict[str, str] = {}
    # No OPTIONS: DRF would answer it for every view, with no scope to check.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    def get_exception_handler(self):
        return api_exception_handler

    def dispatch(self, request, *args, **kwargs):
        # The acting key lives exactly as long as this request (astro.core.acting).
        with acting.request_scope():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        """DRF's order, except that a request without a valid key is counted against its
        address before it is refused (401 alone would let anyone guess keys at full
        speed), and the key's own limit is taken before its scopes are checked."""
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        try:
            self.perform_authentication(request)
        except exceptions.AuthenticationFailed:
            self.limit_without_key(request)
            raise
        if request.auth is None:
            self.limit_without_key(request)
        else:
            acting.bind_api_key(key_id=request.auth.pk, prefix=request.auth.prefix)
        self.check_throttles(request)
        self.check_permissions(request)
        # DRF treats a body without Content-Type as empty data; refuse it instead,
        # so a client that forgot the header learns why its fields were "missing".
        if request.method in ("POST", "PUT", "PATCH") and not request.content_type:
            if request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
                raise exceptions.UnsupportedMediaType("", detail="Send the body as application/json.")

    def limit_without_key(self, request) -> None:
        count, period = parse_rate(settings.API_ANON_RATE)
        wait = limit_take(f"api-anon:{client_ip(request)}", count=count, period=period)
        if wait is not None:
            raise ThrottledWithoutKey(wait=wait)

    @property
    def client(self):
        """The external system behind the request's key (astro.integrations.auth.ApiClient)."""
        return self.request.user
