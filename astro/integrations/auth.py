"""`Authorization: Api-Key <key>` authentication, scope permissions and the per-key rate limit.

REST_FRAMEWORK names these classes as the API's defaults (config/settings/base.py).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from astro.core.api.rates import parse_rate
from astro.core.ratelimit import limit_take
from astro.integrations.models import ApiKey, ExternalSystem
from astro.integrations.services import KEY_PREFIX, hash_secret

KEYWORD = "Api-Key"
# last_used_at is informational: write it at most once a minute per key, so a
# busy key does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiClient:
    """request.user for API requests: the external system behind the key."""

    system: ExternalSystem
    key: ApiKey
    scopes: frozenset[str]

    is_authenticated = True
    is_anonymous = False

    @property
    def slug(self) -> str:
        return self.system.slug

    def __str__(self) -> str:
        return f"{self.system.slug} (key {self.key.prefix})"


class InvalidApiKey(exceptions.AuthenticationFailed):
    default_code = "invalid_api_key"
    default_detail = "The API key is unknown, malformed or revoked."


class SystemInactive(exceptions.AuthenticationFailed):
    # 401: the key no longer authenticates anyone, as after a revocation, but with its own
    # code, so the system's owner learns it was deactivated rather than that its key leaked.
    default_code = "system_inactive"
    default_detail = "This external system is deactivated; its keys cannot be used."


def _parse(raw: str) -> tuple[str, str] | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: NotAuthenticated (401) unless another scheme answers
        if len(header) != 2:
            raise InvalidApiKey("Send the key as `Authorization: Api-Key <key>`.")
        try:
            parsed = _parse(header[1].decode("ascii"))
        except UnicodeDecodeError:
            parsed = None
        if parsed is None:
            raise InvalidApiKey()
        prefix, secret = parsed
        key = ApiKey.objects.select_related("system").filter(prefix=prefix[:16]).first()
        # Compare the hashes in constant time even for an unknown prefix.
        expected = key.secret_hash if key else "0" * 64
        if not hmac.compare_digest(expected, hash_secret(secret)) or key is None or key.is_revoked:
            raise InvalidApiKey()
        if not key.system.is_active:
            raise SystemInactive()
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiClient(system=key.system, key=key, scopes=key.effective_scopes()), key

    def authenticate_header(self, request) -> str:
        # A 401 carries WWW-Authenticate (RFC 9110), naming our scheme.
        return KEYWORD


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"
    default_detail = "The API key lacks the scope this operation needs."


def scope_needed(view, method: str) -> str | None:
    """The scope `method` needs on `view`. HEAD runs the GET handler (Django maps it), so it
    needs GET's scope: otherwise a response's length would answer what GET refuses."""
    return view.required_scopes.get("GET" if method == "HEAD" else method)


class HasScope(BasePermission):
    """The view's `required_scopes` maps an HTTP method to the scope it needs.

    Fails closed: a method the view implements but does not map is refused. A method
    it does not implement passes here and is answered 405 by the view.
    """

    def has_permission(self, request, view) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            raise exceptions.NotAuthenticated()
        needed = scope_needed(view, request.method)
        if needed is None:
            method = request.method.lower()
            if method in view.http_method_names and hasattr(view, method):
                raise InsufficientScope("No scope grants this method.")
            return True
        if needed not in client.scopes:
            refused = InsufficientScope(f"This operation needs the scope {needed}.")
            refused.error_details = {"requiredScope": needed}
            raise refused
        return True


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key astro_<prefix>_<secret>` — one key per external system, "
            "created with `manage.py create_api_key` or in the admin.",
        }


class ApiKeyRateThrottle(BaseThrottle):
    """Per-key rate limit from the key's system (`rate_limit`, e.g. 600/min).

    Decided by Redis in one round trip (astro.core.ratelimit): concurrent requests on
    one key can never overshoot it, as a read-then-write counter would. Requests
    without a key are limited per address by the API's base view.
    """

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.user, ApiClient):
            return True
        count, period = parse_rate(request.user.system.rate_limit)
        self._wait = limit_take(f"api-key:{request.auth.pk}", count=count, period=period)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
