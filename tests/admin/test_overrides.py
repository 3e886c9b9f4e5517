"""The item page offers every override, its own and those the assignments app adds to it,
and shows an item's assignment history (the services are tested in tests/items and
tests/assignments)."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from tests.assignments.delivery_support import assign
from tests.support.factories import make_item, make_user


@pytest.mark.django_db
def test_the_item_page_shows_the_assignment_aware_overrides_and_history(operator_client):
    item = make_item(status="missing")
    page = operator_client.get(reverse("admin:items_item_change", args=[item.pk])).content.decode()

    labels = ["Confirm removed", "Check Steam and restore"]
    assert all(label in page for label in labels)
    assert page.index(labels[0]) < page.index(labels[1])
    assert "Release from its assignment" not in page  # not held by an assignment
    assert "This item was never assigned." in page
    assert page.index("Assignment history") < page.index("Event history")


@pytest.mark.django_db
def test_the_item_page_of_a_held_item_offers_the_release_and_lists_its_assignment(operator_client):
    user, (held, other) = make_user(), [make_item(), make_item()]
    assignment = assign(user, [held, other])
    page = operator_client.get(reverse("admin:items_item_change", args=[held.pk])).content.decode()

    assert "Release from its assignment" in page and "Quarantine" not in page
    assert str(assignment.id)[:8] in page


@pytest.mark.django_db
def test_the_item_list_offers_every_override_as_an_action_in_order(operator_client):
    make_item()
    page = operator_client.get(reverse("admin:items_item_changelist")).content.decode()

    names = ["confirm_removed", "restore_after_check", "release_from_assignment", "accept", "quarantine"]
    positions = [page.index(f'value="{name}"') for name in names]
    assert positions == sorted(positions)
    assert ACTION_CHECKBOX_NAME in page
