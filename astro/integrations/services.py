"""Services for external systems and their API keys (used by the admin and manage.py)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from astro.core.errors import Conflict, InvalidInput, NotFound
from astro.integrations.models import ALL_SCOPES, ApiKey, ExternalSystem
from audit.services import record_event

KEY_PREFIX = "astro"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(scopes, *, allowed) -> list[str]:
    unknown = sorted(set(scopes) - set(allowed))
    if unknown:
        raise InvalidInput(f"Unknown or not allowed scopes: {', '.join(unknown)}.", details={"scopes": unknown})
    return sorted(set(scopes))


def external_system_create(
    *, slug: str, name: str | None = None, scopes: list[str] | None = None, rate_limit: str | None = None,
    max_priority: int | None = None, actor: str, source: str,
) -> ExternalSystem:
    """Create a system (all scopes unless given). Validates like the admin form."""
    system = ExternalSystem(
        slug=slug, name=name or slug,
        scopes=_check_scopes(ALL_SCOPES if scopes is None else scopes, allowed=ALL_SCOPES),
    )
    if rate_limit:
        system.rate_limit = rate_limit
    if max_priority is not None:
        system.max_priority = max_priority
    try:
        system.full_clean()
    except Exception as exc:  # ValidationError: one clear message per field
        raise InvalidInput(f"Invalid external system: {exc}") from None
    with transaction.atomic():
        system.save()
        record_event(
            event_type="api.system_created", description=f"External system {slug} created.", actor=actor,
            source=source, external_system=slug, data={"scopes": system.scopes, "rateLimit": system.rate_limit, "maxPriority": system.max_priority},
        )
    return system


def api_key_create(
    *, system: ExternalSystem, scopes: list[str] | None = None, name: str = "", actor: str, source: str = "admin",
) -> tuple[ApiKey, str]:
    """Create a key for `system`; return it with the plaintext key, which is never stored or shown again.

    `scopes` narrows the key to a subset of the system's scopes (default: all of them).
    """
    scopes = _check_scopes(scopes or [], allowed=system.scopes)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            system=system, name=name, prefix=prefix, secret_hash=hash_secret(secret), scopes=scopes, created_by=actor
        )
        record_event(
            event_type="api.key_created", description=f"API key {prefix} created for {system.slug}.", actor=actor,
            source=source, external_system=system.slug,
            data={"keyId": key.id, "prefix": prefix, "name": name, "scopes": scopes or system.scopes},
        )
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, key_id, actor: str, source: str = "admin", reason: str = "") -> ApiKey:
    """Revoke at once: the next request with this key gets 401. Revoking twice is a conflict."""
    now = timezone.now()
    with transaction.atomic():
        revoked = ApiKey.objects.filter(id=key_id, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        key = ApiKey.objects.select_related("system").filter(id=key_id).first()
        if key is None:
            raise NotFound("No such API key.")
        if not revoked:
            raise Conflict("The API key is already revoked.", code="api_key_already_revoked")
        record_event(
            event_type="api.key_revoked", description=f"API key {key.prefix} of {key.system.slug} revoked.",
            actor=actor, source=source, external_system=key.system.slug,
            data={"keyId": key.id, "prefix": key.prefix, "reason": reason},
        )
    return key


def api_key_rotate(*, key_id, actor: str, source: str = "admin") -> tuple[ApiKey, str]:
    """Replace a key: a new key with the same name and scopes, the old one revoked, in one transaction."""
    with transaction.atomic():
        old = ApiKey.objects.select_related("system").select_for_update().filter(id=key_id).first()
        if old is None:
            raise NotFound("No such API key.")
        new_key, plaintext = api_key_create(
            system=old.system, scopes=[s for s in old.scopes if s in old.system.scopes], name=old.name,
            actor=actor, source=source,
        )
        api_key_revoke(key_id=old.id, actor=actor, source=source, reason=f"rotated to {new_key.prefix}")
    return new_key, plaintext
