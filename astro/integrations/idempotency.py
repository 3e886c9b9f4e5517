"""`Idempotency-Key` for POST endpoints, decided by PostgreSQL.

Semantics (as Stripe and draft-ietf-httpapi-idempotency-key-header):
- same key, same request  -> the first response replayed byte for byte
  (status and body; the replay carries `Idempotent-Replayed: true`);
- same key, other request -> 422 `idempotency_key_reused`;
- same key while the first request still runs -> 409 `idempotency_key_in_use`;
- keys are scoped per external system and kept IDEMPOTENCY_KEY_TTL_HOURS.

How it stays race-free:
1. The record row is INSERTed first, in its own committed transaction, ON
   CONFLICT DO NOTHING: the unique (system, key) constraint lets exactly one
   request own the key.
2. The owner then opens the transaction that does the work, locks its record
   row FOR UPDATE, runs the view, and stores the rendered response in that same
   transaction. So "completed" means the work committed, and the work never
   commits without its stored response.
3. Any other request with the key reads the row: a completed row is replayed
   (it never changes again, so no lock is needed, and replays running at once
   never see each other as an owner). An in-flight row is read again FOR UPDATE
   SKIP LOCKED: locked is a live owner (409); one nobody holds, older than
   STALE_AFTER, belonged to an owner that died before committing anything, and
   is taken over.
Responses of 5xx are not stored (the record is deleted), so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import exceptions

from astro.core.errors import Conflict, Unprocessable
from astro.integrations.models import IdempotencyRecord, IdempotencyState

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
STALE_AFTER = timedelta(seconds=30)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class InvalidIdempotencyKey(exceptions.APIException):
    status_code = 400
    default_code = "invalid_idempotency_key"
    default_detail = "Idempotency-Key must be 1 to 255 visible ASCII characters."


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class _Unstored(Exception):
    def __init__(self, response):
        self.response = response


def request_fingerprint(method: str, path: str, data) -> str:
    """SHA-256 of the request as parsed: key order and whitespace do not matter, values do."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


def fingerprint(request) -> str:
    return request_fingerprint(request.method, request.path, request.data)


def _replay(record) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body), status=record.response_status, content_type=record.response_content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(*, system, key: str, print_: str):
    """Return ("own", token) for the request that may run, or ("replay", record); raise on conflicts."""
    ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    for _ in range(5):
        now = timezone.now()
        token = uuid.uuid4()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO idempotency_records (system_id, key, fingerprint, state, owner_token, created_at)"
                    " VALUES (%s, %s, %s, 'in_flight', %s, %s)"
                    " ON CONFLICT (system_id, key) DO NOTHING RETURNING id",
                    [system.pk, key, print_, token, now],
                )
                if cursor.fetchone():
                    return "own", token
        with transaction.atomic():
            rows = IdempotencyRecord.objects.filter(system=system, key=key)
            # A completed record never changes again, so it is read without a lock: replays
            # running at once must not take each other's lock for a live owner's (a false 409).
            seen = rows.first()
            if seen is None:
                continue  # the owner failed and released it in between: try to own it
            if seen.fingerprint != print_ and seen.created_at >= now - ttl:
                raise IdempotencyKeyReused()
            if seen.state == IdempotencyState.COMPLETED and seen.created_at >= now - ttl:
                return "replay", seen
            # In flight (or expired): the row lock tells whether a live request holds it.
            record = rows.select_for_update(skip_locked=True).first()
            if record is None:
                raise IdempotencyKeyInUse()
            if record.created_at < now - ttl:
                record.delete()  # expired: the key is free again
                continue
            if record.state == IdempotencyState.COMPLETED:
                return "replay", record  # its owner committed between our two reads
            if record.created_at >= now - STALE_AFTER:
                raise IdempotencyKeyInUse()
            # In flight, unlocked and old: its owner died without committing. Take it over.
            rows.filter(pk=record.pk).update(owner_token=token, created_at=now)
            return "own", token
    raise IdempotencyKeyInUse()


def _release(*, system, key: str, token) -> None:
    IdempotencyRecord.objects.filter(
        system=system, key=key, owner_token=token, state=IdempotencyState.IN_FLIGHT
    ).delete()


def idempotent(handler):
    """Decorate a POST handler of an ApiView. Without the header the handler runs as is.

    The handler runs inside the transaction that stores its response: it must not
    call out to Steam (nothing may hold a transaction open across a Steam call).
    """

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not _VALID_KEY.match(key):
            raise InvalidIdempotencyKey()
        system = view.client.system
        outcome, value = _claim(system=system, key=key, print_=fingerprint(request))
        if outcome == "replay":
            return _replay(value)
        token = value
        try:
            with transaction.atomic():
                owned = (
                    IdempotencyRecord.objects.select_for_update()
                    .filter(system=system, key=key, owner_token=token, state=IdempotencyState.IN_FLIGHT)
                    .first()
                )
                if owned is None:
                    raise IdempotencyKeyInUse()  # taken over while we stalled: the other request runs it
                try:
                    with transaction.atomic():
                        response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)
                response = view.finalize_response(request, response, *args, **kwargs)
                response.render()
                if response.status_code >= 500:
                    raise _Unstored(response)
                IdempotencyRecord.objects.filter(pk=owned.pk).update(
                    state=IdempotencyState.COMPLETED,
                    response_status=response.status_code,
                    response_body=response.content,
                    response_content_type=response["Content-Type"],
                    completed_at=timezone.now(),
                )
            return response
        except _Unstored as unstored:
            _release(system=system, key=key, token=token)
            return unstored.response
        except BaseException:
            _release(system=system, key=key, token=token)
            raise

    return wrapper


def idempotency_purge_expired(*, now=None) -> int:
    """Delete records older than the TTL (housekeeping; expired keys are also freed on reuse)."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
