"""Recording system events: the one function every service calls."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from astro.core.acting import current_api_key
from audit.catalogue import EVENT_TYPES
from audit.models import SystemEvent


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # Decimals, UUIDs and datetimes become strings, exactly as the API shows them.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _with_acting_key(source: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """An API request's events name the key that made it (astro.core.acting): a system's
    slug alone cannot tell its own requests from those of a key an operator minted."""
    data = dict(data or {})
    key = current_api_key() if source == "api" else None
    if key is not None:
        data.setdefault("apiKeyId", key.id)
        data.setdefault("apiKeyPrefix", key.prefix)
    return data


def record_event(
    *,
    event_type: str,
    description: str,
    actor: str,
    source: str,
    user_id: int | None = None,
    item_id=None,
    assignment_id=None,
    external_system: str | None = None,
    data: dict[str, Any] | None = None,
    severity: str | None = None,
) -> SystemEvent:
    """Append one event to the audit trail, inside the caller's transaction.

    Call it from the service that makes the change, in the same `atomic` block:
    if the change rolls back, so does its event, and an event never describes a
    change that did not happen. The type must be in the catalogue
    (`audit.catalogue`), which fixes its category and default severity.
    """
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise ValueError(f"unknown event type {event_type!r}; add it to audit/catalogue.py")
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError(f"record_event({event_type!r}) must run inside the change's transaction")
    return SystemEvent.objects.create(
        event_type=event_type,
        event_category=spec.category,
        event_description=description,
        actor=actor,
        source=source,
        user_id=user_id,
        item_id=item_id,
        assignment_id=assignment_id,
        external_system=external_system,
        event_data=_json_safe(_with_acting_key(source, data)),
        severity=severity or spec.severity,
    )


def record_events(events: list[dict[str, Any]]) -> int:
    """Append many events in one INSERT (sync writes one per changed item)."""
    if not events:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events must run inside the change's transaction")
    rows = []
    for event in events:
        spec = EVENT_TYPES.get(event["event_type"])
        if spec is None:
            raise ValueError(f"unknown event type {event['event_type']!r}; add it to audit/catalogue.py")
        rows.append(
            SystemEvent(
                event_type=event["event_type"],
                event_category=spec.category,
                event_description=event["description"],
                actor=event["actor"],
                source=event["source"],
                user_id=event.get("user_id"),
                item_id=event.get("item_id"),
                assignment_id=event.get("assignment_id"),
                external_system=event.get("external_system"),
                event_data=_json_safe(_with_acting_key(event["source"], event.get("data"))),
                severity=event.get("severity") or spec.severity,
            )
        )
    SystemEvent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
