"""Services for external systems and their API keys (used by the admin and manage.py)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from astro.core.errors import Conflict, InvalidInput, NotFound
from astro.integrations.models import ALL_SCOPES, DEFAULT_SCOPES, ApiKey, ExternalSystem
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
    """Create a system (DEFAULT_SCOPES unless given: no `sync:trigger`). Validates like the admin form."""
    system = ExternalSystem(
        slug=slug, name=name or slug,
        scopes=_check_scopes(DEFAULT_SCOPES if scopes is None else scopes, allowed=ALL_SCOPES),
    )
    system.rate_limit = rate_limit or settings.API_DEFAULT_RATE_LIMIT
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
    """Replace a key: a new key with the same name and exactly the same scopes, the old one
    revoked, in one transaction.

    Refused (nothing changes) when the system no longer grants one of the key's scopes:
    dropping it would leave the new key's list empty or shorter, and an empty list means
    "every scope of the system", so a rotation could widen what the key may do.
    """
    with transaction.atomic():
        old = ApiKey.objects.select_related("system").select_for_update().filter(id=key_id).first()
        if old is None:
            raise NotFound("No such API key.")
        lost = sorted(set(old.scopes) - set(old.system.scopes))
        if lost:
            raise Conflict(
                f"The system no longer grants {', '.join(lost)}, which this key has; a rotation keeps a key's "
                "scopes exactly. Create a new key with the scopes it should have, then revoke this one.",
                code="api_key_scopes_changed", details={"scopes": lost},
            )
        new_key, plaintext = api_key_create(
            system=old.system, scopes=list(old.scopes), name=old.name, actor=actor, source=source,
        )
        api_key_revoke(key_id=old.id, actor=actor, source=source, reason=f"rotated to {new_key.prefix}")
    return new_key, plaintext


_EDITABLE = ("is_active", "scopes", "rate_limit", "max_priority")


def external_system_update(
    *, system_id, actor: str, source: str, reason: str, is_active: bool | None = None,
    scopes: list[str] | None = None, rate_limit: str | None = None, max_priority: int | None = None,
) -> ExternalSystem:
    """Change what a system may do, with one `api.system_updated` event naming each change.

    Only the given fields change. A deactivated system's keys are refused at once
    (401 `system_inactive`), but its assignments already made are still delivered:
    the promise to the user stands. Narrowing `scopes` narrows every key at once
    (a key never has more than its system). Nothing to change: nothing is written.
    """
    wanted = {"is_active": is_active, "scopes": None if scopes is None else _check_scopes(scopes, allowed=ALL_SCOPES),
              "rate_limit": rate_limit, "max_priority": max_priority}
    with transaction.atomic():
        system = ExternalSystem.objects.select_for_update().filter(pk=system_id).first()
        if system is None:
            raise NotFound("No such external system.")
        changes = {}
        for field in _EDITABLE:
            value = wanted[field]
            if value is not None and value != getattr(system, field):
                changes[field] = (getattr(system, field), value)
                setattr(system, field, value)
        if not changes:
            return system
        try:
            system.full_clean()
        except Exception as exc:  # ValidationError: one clear message per field
            raise InvalidInput(f"Invalid external system: {exc}") from None
        system.save(update_fields=[*changes, "updated_at"])
        camel = {"is_active": "isActive", "scopes": "scopes", "rate_limit": "rateLimit", "max_priority": "maxPriority"}
        record_event(
            event_type="api.system_updated",
            description=f"External system {system.slug} changed: {', '.join(camel[f] for f in changes)}.",
            actor=actor, source=source, external_system=system.slug,
            severity="warning" if changes.get("is_active", (None, True))[1] is False else None,
            data={"changes": {camel[f]: {"from": old, "to": new} for f, (old, new) in changes.items()},
                  "reason": reason},
        )
    return system
