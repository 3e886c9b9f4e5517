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
from rest_framework.throttling import SimpleRateThrottle

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


class SystemInactive(exceptions.PermissionDenied):
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


class HasScope(BasePermission):
    """The view's `required_scopes` maps an HTTP method to the scope it needs."""

    def has_permission(self, request, view) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            raise exceptions.NotAuthenticated()
        needed = view.required_scopes.get(request.method)
        if needed is None:
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


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per-key rate limit from the key's system (`rate_limit`, e.g. 600/min), counted in Redis."""

    scope = "api_key"

    def __init__(self):
        # The rate depends on the request's system, so it is set in allow_request.
        self.rate = None

    def get_cache_key(self, request, view):
        return f"throttle:api-key:{request.auth.pk}"

    def allow_request(self, request, view):
        if not isinstance(request.user, ApiClient):
            return True
        self.rate = request.user.system.rate_limit
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
