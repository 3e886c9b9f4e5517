"""Every admin operation: asks for a reason, changes exactly what it says, records the
operator and the reason, says what it did, refuses what it cannot do — and a viewer
cannot run it at all."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from assignments.delivery import delivery_poll, delivery_run
from assignments.models import Assignment
from astro.integrations.models import ApiKey
from astro.integrations.services import api_key_create, external_system_create, hash_secret
from audit.models import SystemEvent
from items.models import Item
from sync.models import InventorySyncLog
from sync.services import sync_run
from tests.support.admin import events_of
from tests.assignments.delivery_support import assign, steam_user, stock, wait_for
from tests.support.factories import make_item, make_user


def op_url(obj, name: str) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_operation", args=[obj.pk, name])


def messages_of(response) -> list[tuple[str, str]]:
    """The messages this response queued for the operator (then dropped, as a page view would)."""
    found = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    response.client.cookies.pop("messages", None)
    return found


def status(obj) -> str:
    return type(obj).objects.get(pk=obj.pk).status


# ------------------------------------------------------------------ item page


@pytest.mark.django_db
def test_an_override_asks_for_a_reason_then_does_what_it_says(operator_client):
    item = make_item(status="missing")
    url = op_url(item, "confirm_removed")

    page = operator_client.get(url)
    assert page.status_code == 200
    assert b'name="reason"' in page.content and b"Confirm removed" in page.content

    no_reason = operator_client.post(url, {"post": "yes", "reason": "  "})
    assert no_reason.status_code == 200 and b"Say why" in no_reason.content
    assert status(item) == "missing"

    done = operator_client.post(url, {"post": "yes", "reason": "sold by hand last night"})
    assert done.status_code == 302 and done["Location"] == reverse("admin:items_item_change", args=[item.pk])
    assert status(item) == "removed"
    [event] = events_of("item.removed", item_id=item.id)
    assert (event.actor, event.source, event.event_data["reason"]) == ("olga", "admin", "sold by hand last night")
    assert messages_of(done) == [("success", f"{item.item_name} confirmed removed: it no longer counts toward the pool.")]


@pytest.mark.django_db
def test_an_override_that_does_not_apply_says_so_and_changes_nothing(operator_client):
    item = make_item()  # available, not missing
    response = operator_client.post(op_url(item, "confirm_removed"), {"post": "yes", "reason": "oops"})

    assert response.status_code == 302
    assert status(item) == "available"
    assert not SystemEvent.objects.exists()
    [(level, text)] = messages_of(response)
    assert level == "error" and "is available, not missing" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "before", "after", "event_type"),
    [
        ("accept", dict(received_via="sync"), "available", "item.accepted"),
        ("quarantine", dict(received_via="sync"), "quarantined", "item.quarantined"),
        ("accept", dict(status="quarantined"), "available", "item.accepted"),
    ],
)
def test_unexpected_items_are_accepted_or_quarantined(operator_client, name, before, after, event_type):
    item = make_item(**before)

    response = operator_client.post(op_url(item, name), {"post": "yes", "reason": "checked the trade history"})

    assert response.status_code == 302
    assert status(item) == after
    [event] = events_of(event_type, item_id=item.id)
    assert (event.actor, event.event_data["reason"]) == ("olga", "checked the trade history")


@pytest.mark.django_db
def test_release_from_assignment_through_the_admin(operator_client):
    user = make_user()
    gone, kept = make_item(), make_item()
    assignment = assign(user, [gone, kept])

    response = operator_client.post(op_url(gone, "release_from_assignment"), {"post": "yes", "reason": "vanished"})

    assert response.status_code == 302
    assert status(gone) == "missing"
    assert Assignment.objects.get(id=assignment.id).total_items_count == 1
    assert events_of("item.released", item_id=gone.id)[0].actor == "olga"


@pytest.mark.django_db(transaction=True)
def test_restore_after_a_steam_check_through_the_admin(operator_client, sandbox):
    [item] = stock(sandbox, 1)
    Item.objects.filter(id=item.id).update(status="missing")

    response = operator_client.post(op_url(item, "restore_after_check"), {"post": "yes", "reason": "it is back"})

    assert response.status_code == 302
    assert status(item) == "available"
    [(level, text)] = messages_of(response)
    assert level == "success" and "back in the pool" in text


@pytest.mark.django_db(transaction=True)
def test_restoring_many_items_reads_each_inventory_once(operator_client, sandbox):
    items = stock(sandbox, 3)
    Item.objects.filter(id__in=[i.id for i in items]).update(status="missing")
    before = sandbox.last_request_seq()

    operator_client.post(reverse("admin:items_item_changelist"), {
        "action": "restore_after_check", ACTION_CHECKBOX_NAME: [str(i.pk) for i in items],
        "post": "yes", "reason": "all back after the Steam outage",
    })

    assert {status(i) for i in items} == {"available"}
    # Answered reads (a read refused because the session expired is retried by the gateway).
    inventory_reads = [r for r in sandbox.requests_log(since=before) if "/inventory/" in r["path"] and r["status"] == 200]
    assert len(inventory_reads) == 1, inventory_reads


# ------------------------------------------------------------ list actions


@pytest.mark.django_db
def test_a_list_action_confirms_then_applies_to_the_rows_it_fits_and_refuses_the_others(operator_client):
    missing = [make_item(status="missing"), make_item(status="missing")]
    available = make_item(item_name="Still Here")
    changelist = reverse("admin:items_item_changelist")
    selected = [str(i.pk) for i in [*missing, available]]

    confirm = operator_client.post(changelist, {"action": "confirm_removed", ACTION_CHECKBOX_NAME: selected, "index": 0})
    assert confirm.status_code == 200
    assert b'name="reason"' in confirm.content and b"Still Here" in confirm.content
    assert {status(i) for i in missing} == {"missing"}  # nothing happens before the reason

    done = operator_client.post(changelist, {
        "action": "confirm_removed", ACTION_CHECKBOX_NAME: selected, "post": "yes", "reason": "bulk cleanup",
    })

    assert done.status_code == 302
    assert {status(i) for i in missing} == {"removed"}
    assert status(available) == "available"
    assert len(events_of("item.removed")) == 2
    levels = [level for level, _ in messages_of(done)]
    assert levels.count("success") == 2 and levels.count("error") == 1
    assert any("Still Here" in text for level, text in messages_of(done) if level == "error")


# -------------------------------------------------------------- permissions


@pytest.mark.django_db
def test_a_viewer_sees_every_page_and_can_run_nothing(viewer_client):
    item = make_item(status="missing")
    item_page = viewer_client.get(reverse("admin:items_item_change", args=[item.pk]))
    assert item_page.status_code == 200
    assert b"/operation/" not in item_page.content  # no operation buttons

    changelist = viewer_client.get(reverse("admin:items_item_changelist"))
    assert changelist.status_code == 200 and b"confirm_removed" not in changelist.content

    assert viewer_client.get(op_url(item, "confirm_removed")).status_code == 403
    assert viewer_client.post(op_url(item, "confirm_removed"), {"post": "yes", "reason": "x"}).status_code == 403
    # Posting the action to the list directly does nothing either.
    viewer_client.post(reverse("admin:items_item_changelist"), {
        "action": "confirm_removed", ACTION_CHECKBOX_NAME: [str(item.pk)], "post": "yes", "reason": "x",
    })
    assert status(item) == "missing"
    assert not SystemEvent.objects.exists()

    for name in ("items_item", "items_steamuser", "assignments_assignment", "assignments_deliveryattempt",
                 "sync_inventorysynclog", "audit_systemevent", "astro_apikey", "astro_externalsystem"):
        assert viewer_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert viewer_client.get(reverse("admin:assignments_assignment_items")).status_code == 200
    assert viewer_client.get(reverse("admin:index")).status_code == 200
    assert viewer_client.get(reverse("admin:astro_apikey_add")).status_code == 403
    assert viewer_client.get(reverse("admin:sync_inventorysynclog_list_operation", args=["run_sync_now"])).status_code == 403


@pytest.mark.django_db
def test_staff_without_a_role_sees_nothing(client, make_staff):
    client.force_login(make_staff("nobody", None))
    assert client.get(reverse("admin:items_item_changelist")).status_code == 403


@pytest.mark.django_db
def test_history_stays_read_only_even_for_superusers(client, make_staff):
    client.force_login(make_staff("root", "superuser"))
    sync_log = InventorySyncLog.objects.create(sync_started_at="2026-01-01T00:00:00Z", sync_status="success")
    item = make_item(status="missing")
    operator_client_post = client.post(op_url(item, "confirm_removed"), {"post": "yes", "reason": "root can"})
    assert operator_client_post.status_code == 302  # superusers run everything ...
    event = SystemEvent.objects.get()
    for name, obj in (("audit_systemevent", event), ("sync_inventorysynclog", sync_log), ("items_item", item)):
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
        assert client.post(reverse(f"admin:{name}_change", args=[obj.pk]), {}).status_code == 403
        assert client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert SystemEvent.objects.count() == 1  # ... but history is never edited


# -------------------------------------------------------------- deliveries


def _failed_delivery(sandbox, count=2):
    remote, user = steam_user(sandbox, "decline")
    items = stock(sandbox, count)
    assignment = assign(user, items)
    offer_id = delivery_run(assignment_id=assignment.id).offer_id
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 7, what="the decline")
    delivery_poll()
    assert status(assignment) == "failed"
    return remote, items, assignment


@pytest.mark.django_db(transaction=True)
def test_retry_a_failed_delivery_through_the_admin(operator_client, sandbox):
    remote, items, assignment = _failed_delivery(sandbox)
    url = op_url(assignment, "retry_delivery")
    assert b"Retry delivery" in operator_client.get(reverse("admin:assignments_assignment_change", args=[assignment.pk])).content

    response = operator_client.post(url, {"post": "yes", "reason": "the user asked for it again"})

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.status, assignment.status_reason) == ("pending", None)
    assert {status(i) for i in items} == {"reserved"}
    [event] = events_of("delivery.retry_requested", assignment_id=assignment.id)
    assert (event.actor, event.source, event.event_data["reason"]) == ("olga", "admin", "the user asked for it again")
    assert messages_of(response)[0][0] == "success"

    # A second retry does not apply any more: it says so and changes nothing.
    again = operator_client.post(url, {"post": "yes", "reason": "double click"})
    assert status(assignment) == "pending"
    assert len(events_of("delivery.retry_requested")) == 1
    [(level, text)] = messages_of(again)
    assert level == "error" and "Only a failed assignment can be retried" in text


@pytest.mark.django_db(transaction=True)
def test_cancel_resend_and_check_now_through_the_admin(operator_client, sandbox):
    remote, user = steam_user(sandbox, "ignore")
    items = stock(sandbox, 1)
    assignment = assign(user, items)
    first = delivery_run(assignment_id=assignment.id).offer_id

    resend = operator_client.post(op_url(assignment, "resend_offer"), {"post": "yes", "reason": "user lost it"})
    assert resend.status_code == 302
    assert messages_of(resend)[0][0] == "success"
    assert sandbox.offer(first)["state"] == 6  # our old offer was cancelled on Steam
    assert events_of("delivery.resend_requested", assignment_id=assignment.id)[0].actor == "olga"

    second = delivery_run(assignment_id=assignment.id).offer_id
    sandbox.act_on_offer(second, "accept")
    # "Check now" asks no reason: it only reads Steam's state and applies it.
    check = operator_client.post(op_url(assignment, "check_offer_now"), {"post": "yes"})
    assert check.status_code == 302
    assert status(assignment) == "delivered"
    assert "delivered" in messages_of(check)[0][1]

    cancel = operator_client.post(op_url(assignment, "cancel_assignment"), {"post": "yes", "reason": "too late"})
    assert status(assignment) == "delivered"
    assert messages_of(cancel)[0][0] == "error"


@pytest.mark.django_db
def test_cancel_a_pending_assignment_through_the_admin(operator_client):
    user = make_user()
    items = [make_item(), make_item()]
    assignment = assign(user, items)

    response = operator_client.post(op_url(assignment, "cancel_assignment"), {"post": "yes", "reason": "void giveaway"})

    assert response.status_code == 302
    assert status(assignment) == "cancelled"
    assert {status(i) for i in items} == {"available"}
    [event] = events_of("assignment.cancelled", assignment_id=assignment.id)
    assert (event.actor, event.source, event.event_data["reason"]) == ("olga", "admin", "void giveaway")


# --------------------------------------------------------------------- sync


@pytest.mark.django_db
def test_run_a_sync_now_queues_one_for_a_worker(operator_client):
    url = reverse("admin:sync_inventorysynclog_list_operation", args=["run_sync_now"])
    assert operator_client.get(url).status_code == 200

    response = operator_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    log = InventorySyncLog.objects.get()
    assert (log.sync_status, log.trigger) == ("queued", "admin")
    assert events_of("sync.requested")[0].actor == "olga"


def _held_run(sandbox):
    stock(sandbox, 3)
    Item.objects.all().delete()  # let the first sync import them itself
    assert sync_run(trigger="command", actor="test").sync_status == "success"
    sandbox.remove_assets(sandbox.asset_ids())
    held = sync_run(trigger="command", actor="test")
    assert held.sync_status == "held"
    return held


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "resolution", "item_status"), [("discard_held", "discarded", "available"),
                                                                 ("apply_held", "applied", "missing")])
def test_a_held_sync_is_applied_or_discarded_with_a_reason(operator_client, sandbox, name, resolution, item_status):
    held = _held_run(sandbox)
    page = operator_client.get(reverse("admin:sync_inventorysynclog_change", args=[held.pk]))
    assert b"Apply this held sync" in page.content and b"Discard this held sync" in page.content

    response = operator_client.post(op_url(held, name), {"post": "yes", "reason": "checked on Steam"})

    assert response.status_code == 302
    assert messages_of(response)[0][0] == "success"
    held.refresh_from_db()
    assert (held.resolution, held.resolved_by) == (resolution, "olga")
    assert set(Item.objects.values_list("status", flat=True)) == {item_status}
    [event] = events_of(f"sync.{resolution}", actor="olga")
    assert event.event_data["reason"] == "checked on Steam"
    # Decided once: the other decision no longer applies.
    other = "apply_held" if name == "discard_held" else "discard_held"
    refused = operator_client.post(op_url(held, other), {"post": "yes", "reason": "changed my mind"})
    assert messages_of(refused)[0][0] == "error"


# ----------------------------------------------------------------- API keys


@pytest.mark.django_db
def test_a_new_api_key_is_shown_once_and_only_its_hash_is_kept(key_manager_client):
    system = external_system_create(slug="discord_bot", actor="test", source="command")

    response = key_manager_client.post(reverse("admin:astro_apikey_add"), {"system": system.pk, "name": "prod"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(system=system)
    [secret] = re.findall(rf"astro_{key.prefix}_([A-Za-z0-9_-]+)", response.content.decode())
    assert key.secret_hash == hash_secret(secret)
    assert events_of("api.key_created")[0].actor == "kate"
    # Never again: the key's own page does not show it.
    assert secret.encode() not in key_manager_client.get(reverse("admin:astro_apikey_change", args=[key.pk])).content


@pytest.mark.django_db
def test_rotate_shows_the_new_key_and_revoke_needs_a_reason(key_manager_client, operator):
    system = external_system_create(slug="web_shop", actor="test", source="command")
    old, _ = api_key_create(system=system, name="shop", actor="test")

    rotated = key_manager_client.post(op_url(old, "rotate_key"), {"post": "yes"})

    assert rotated.status_code == 200 and "no-store" in rotated["Cache-Control"]
    new = ApiKey.objects.get(system=system, revoked_at__isnull=True)
    assert f"astro_{new.prefix}_".encode() in rotated.content
    old.refresh_from_db()
    assert old.revoked_by == "kate"

    key_manager_client.post(op_url(new, "revoke_key"), {"post": "yes", "reason": "leaked in a log"})
    new.refresh_from_db()
    assert new.revoked_by == "kate"
    assert events_of("api.key_revoked", actor="kate")[-1].event_data["reason"] == "leaked in a log"

    key_manager_client.force_login(operator)
    assert key_manager_client.post(op_url(new, "rotate_key"), {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_operators_cannot_mint_or_rotate_keys(operator_client):
    # A key acts as its system: minting one is the key managers' job, not the operators'.
    system = external_system_create(slug="web_shop", actor="test", source="command")
    old, _ = api_key_create(system=system, name="shop", actor="test")
    assert operator_client.post(reverse("admin:astro_apikey_add"), {"system": system.pk, "name": "x"}).status_code == 403
    assert operator_client.post(op_url(old, "rotate_key"), {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(system=system).count() == 1
