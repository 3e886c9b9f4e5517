"""An operator in a real browser: logs in, reads the dashboard, resolves a missing item
and retries a failed delivery by following what the pages say — no URLs typed in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.delivery import delivery_poll, delivery_run
from assignments.models import Assignment
from audit.models import SystemEvent
from items.models import Item
from sync.models import InventorySyncLog
from tests.support.admin import PASSWORD
from tests.assignments.delivery_support import assign, steam_user, stock, wait_for
from tests.browser.conftest import shot
from tests.support.factories import make_items

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector(".astro-health")


def _recent_sync() -> None:
    started = timezone.now() - timedelta(minutes=1)
    InventorySyncLog.objects.create(sync_started_at=started, sync_completed_at=started + timedelta(seconds=5),
                                    sync_status="success", steam_inventory_count=12)


def test_log_in_and_read_the_dashboard(page, live_server, operator):
    make_items(12)
    _recent_sync()

    log_in(page, live_server, operator.username)

    assert page.locator(".astro-health h1").inner_text() == "All good"
    assert page.locator("#chart-pool-value svg").is_visible()
    assert page.locator("#chart-sync-results svg").is_visible()
    assert page.locator("#chart-pool-value svg path.line").count() == 1
    assert "12" in page.locator(".astro-card").first.inner_text()
    # Served by Astro itself: the stylesheet loaded (no CDN, works offline).
    assert page.evaluate("getComputedStyle(document.querySelector('.astro-card')).borderRadius") == "8px"
    shot(page, "dashboard")


def test_resolve_a_missing_item(page, live_server, operator, sandbox):
    [item] = stock(sandbox, 1)  # on Steam after all, but the database has it missing
    Item.objects.filter(id=item.id).update(status="missing")
    _recent_sync()
    log_in(page, live_server, operator.username)

    page.get_by_role("link", name="Resolve").click()
    page.get_by_role("link", name=item.item_name).click()
    assert "Missing:" in page.locator(".astro-notice").inner_text()
    shot(page, "missing-item")
    page.get_by_role("link", name="Check Steam and restore").click()
    page.fill("textarea[name=reason]", "The owner says it never left the bot")
    shot(page, "missing-item-reason")
    page.get_by_role("button", name="Check Steam and restore").click()

    assert "back in the pool" in page.locator("ul.messagelist li.success").inner_text()
    shot(page, "missing-item-restored")
    assert Item.objects.get(id=item.id).status == "available"
    event = SystemEvent.objects.get(event_type="item.restored", item_id=item.id)
    assert (event.actor, event.event_data["reason"]) == (operator.username, "The owner says it never left the bot")


def test_retry_a_failed_delivery(page, live_server, operator, sandbox):
    remote, user = steam_user(sandbox, "decline")
    items = stock(sandbox, 2)
    assignment = assign(user, items)
    offer_id = delivery_run(assignment_id=assignment.id).offer_id
    wait_for(lambda: sandbox.offer(offer_id)["state"] == 7, what="the decline")
    delivery_poll()
    assert Assignment.objects.get(id=assignment.id).status == "failed"
    _recent_sync()
    log_in(page, live_server, operator.username)

    page.get_by_role("link", name="Retry or cancel").click()
    page.get_by_role("link", name=str(assignment.id)[:8]).click()
    assert "Delivery failed" in page.locator(".astro-notice").inner_text()
    shot(page, "failed-delivery")
    page.get_by_role("link", name="Retry delivery").click()
    page.fill("textarea[name=reason]", "The user declined by mistake and asked again")
    page.get_by_role("button", name="Retry delivery").click()

    assert "will be tried again" in page.locator("ul.messagelist li.success").inner_text()
    shot(page, "failed-delivery-retried")
    assignment.refresh_from_db()
    assert assignment.status == "pending"
    assert set(Item.objects.filter(id__in=[i.id for i in items]).values_list("status", flat=True)) == {"reserved"}
    assert SystemEvent.objects.get(event_type="delivery.retry_requested").actor == operator.username
