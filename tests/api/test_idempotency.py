"""Idempotency-Key on POST /api/assignments: replay, mismatch, in flight, expiry, scope."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from assignments.models import Assignment
from astro.integrations.idempotency import STALE_AFTER, idempotency_purge_expired, request_fingerprint
from astro.integrations.models import IdempotencyRecord
from astro.integrations.tasks import purge_idempotency_records_task
from audit.models import SystemEvent
from tests.api.concurrency import run_at_once
from tests.api.conftest import RecordingClient, assert_error, assignment_body


def post(client, body, key):
    return client.post("/api/assignments", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db(transaction=True)
def test_same_key_twenty_times_at_once_creates_one_assignment(make_client, make_items):
    items = make_items(2)
    header = make_client()._credentials["HTTP_AUTHORIZATION"]
    body = assignment_body([i.id for i in items])
    key = str(uuid.uuid4())

    def send(_):
        client = RecordingClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = post(client, body, key)
        return response.status_code, response.content

    results = run_at_once(20, send)

    assert Assignment.objects.count() == 1
    assert SystemEvent.objects.filter(event_type="assignment.created").count() == 1
    created = {content for status, content in results if status == 201}
    assert len(created) == 1, "every success must be the same response, byte for byte"
    for status, content in results:
        assert status in (201, 409), (status, content)
        if status == 409:  # those that arrived while the first still ran
            assert b'"idempotency_key_in_use"' in content
    # Once the first has finished, every retry replays it exactly.
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    replay = post(client, body, key)
    assert (replay.status_code, replay.content) == (201, created.pop())
    assert replay["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_replay_is_byte_for_byte_and_key_order_does_not_matter(api, make_items):
    items = make_items(1)
    body = assignment_body([items[0].id])
    first = post(api, body, "order-1")
    reordered = dict(reversed(list(body.items())))
    again = post(api, reordered, "order-1")
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert Assignment.objects.count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_422(api, make_items):
    items = make_items(2)
    assert post(api, assignment_body([items[0].id]), "k-422").status_code == 201
    assert_error(post(api, assignment_body([items[1].id]), "k-422"), 422, "idempotency_key_reused")
    assert Assignment.objects.count() == 1


@pytest.mark.django_db
def test_a_business_refusal_is_replayed_too(api, make_items):
    items = make_items(1, status="missing")
    first = post(api, assignment_body([items[0].id]), "k-409")
    assert_error(first, 409, "items_unavailable")
    items[0].status = "available"
    items[0].save()
    # The same key means the same request: the client gets the answer it already had.
    assert post(api, assignment_body([items[0].id]), "k-409").content == first.content
    assert post(api, assignment_body([items[0].id]), "k-new").status_code == 201


@pytest.mark.django_db
def test_keys_are_scoped_per_system(api, make_client, make_system, make_items):
    other = make_client(make_system("discord_bot"))
    items = make_items(2)
    assert post(api, assignment_body([items[0].id]), "shared-key").status_code == 201
    response = post(other, assignment_body([items[1].id], system="discord_bot"), "shared-key")
    assert response.status_code == 201
    assert response.json()["externalSystem"] == "discord_bot"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "ключ"])
def test_invalid_keys_are_refused(api, make_items, key):
    items = make_items(1)
    assert_error(post(api, assignment_body([items[0].id]), key), 400, "invalid_idempotency_key")
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_validation_errors_are_not_stored_as_in_flight(api, make_items):
    items = make_items(1)
    assert_error(api.post("/api/assignments", b"{nope", content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY="k-bad"), 400, "malformed_json")
    assert post(api, assignment_body([items[0].id]), "k-bad").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_in_flight_key_answers_409_while_its_owner_holds_it(api, make_items):
    items = make_items(1)
    body = assignment_body([items[0].id])
    # A slow request that owns "k-busy" and is still running: its record, locked by another connection.
    # Old enough to look abandoned, so only the lock tells that its owner is alive.
    IdempotencyRecord.objects.create(
        system=api.system, key="k-busy", created_at=timezone.now() - STALE_AFTER * 2,
        fingerprint=request_fingerprint("POST", "/api/assignments", body),
    )
    locked, release = threading.Event(), threading.Event()

    def owner():
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.select_for_update().get(key="k-busy")
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=owner)
    thread.start()
    try:
        assert locked.wait(30)
        assert_error(post(api, body, "k-busy"), 409, "idempotency_key_in_use")
    finally:
        release.set()
        thread.join()
    assert not Assignment.objects.filter(assignment_items__item_id=items[0].id).exists()


@pytest.mark.django_db
def test_a_fresh_unlocked_in_flight_record_is_409_and_a_stale_one_is_taken_over(api, make_items):
    young, stale = make_items(2)
    young_body, stale_body = assignment_body([young.id]), assignment_body([stale.id])
    now = timezone.now()
    for key, body, created_at in (
        ("k-young", young_body, now),
        # An owner that died before committing leaves an old in-flight row that nobody locks.
        ("k-stale", stale_body, now - STALE_AFTER - timedelta(seconds=1)),
    ):
        IdempotencyRecord.objects.create(
            system=api.system, key=key, created_at=created_at,
            fingerprint=request_fingerprint("POST", "/api/assignments", body),
        )

    assert_error(post(api, young_body, "k-young"), 409, "idempotency_key_in_use")
    response = post(api, stale_body, "k-stale")
    assert response.status_code == 201, response.content
    assert IdempotencyRecord.objects.get(key="k-stale").state == "completed"
    assert post(api, stale_body, "k-stale").content == response.content


@pytest.mark.django_db
def test_expired_keys_run_again_and_are_purged(api, make_items, settings):
    items = make_items(2)
    assert post(api, assignment_body([items[0].id]), "k-old").status_code == 201
    old = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    IdempotencyRecord.objects.filter(key="k-old").update(created_at=old)
    # Past the TTL the key is free: a new request with it runs (here: another item).
    assert post(api, assignment_body([items[1].id]), "k-old").status_code == 201
    IdempotencyRecord.objects.filter(key="k-old").update(created_at=old)
    assert idempotency_purge_expired() == 1
    assert not IdempotencyRecord.objects.filter(key="k-old").exists()
    IdempotencyRecord.objects.create(system=api.system, key="k-older", fingerprint="0" * 64, created_at=old)
    purge_idempotency_records_task.apply()  # the hourly beat task (astro/schedules.py)
    assert not IdempotencyRecord.objects.filter(key="k-older").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_a_completed_key_all_get_the_stored_response(make_client, make_items):
    # Before: each replay locked the record FOR UPDATE SKIP LOCKED, and a replay that found
    # it locked by another replay answered 409 idempotency_key_in_use (issue 12 #20).
    items = make_items(1)
    header = make_client()._credentials["HTTP_AUTHORIZATION"]
    body = assignment_body([items[0].id])
    first = RecordingClient()
    first.credentials(HTTP_AUTHORIZATION=header)
    created = post(first, body, "k-replays")
    assert created.status_code == 201

    def replay(_):
        client = RecordingClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = post(client, body, "k-replays")
        return response.status_code, response.content, response.get("Idempotent-Replayed")

    for _ in range(3):  # several rounds: the race is narrow
        results = run_at_once(10, replay)
        assert results == [(201, created.content, "true")] * 10
    assert Assignment.objects.count() == 1
