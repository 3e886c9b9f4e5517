"""Keyset pagination: every row exactly once, even thousands with one created_at; cursors
are opaque and refused when forged, edited or of another list; pageSize is 1..200."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django.db.models.functions import Now

from items.models import Item
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

LISTS = ["/api/items", "/api/assignments", "/api/events", "/api/sync/runs"]


def _walk(api, url, *, link="next"):
    seen, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        seen.extend(row["id"] for row in body["results"])
        url, pages = body[link], pages + 1
        assert pages < 1000, "the links never end"
    return seen, pages


def test_five_thousand_items_of_one_import_are_paged_through_exactly_once(api, make_items):
    with transaction.atomic():
        items = make_items(5000)
        # A first import writes every row in one transaction: one created_at for all of them.
        Item.objects.update(created_at=Now())
    assert Item.objects.values("created_at").distinct().count() == 1

    seen, pages = _walk(api, "/api/items?pageSize=200")

    assert len(seen) == 5000 and set(seen) == {str(i.id) for i in items}
    assert pages == 25


def test_previous_links_walk_back_over_the_same_rows(api, make_items):
    with transaction.atomic():
        make_items(23)
        Item.objects.update(created_at=Now())
    forward, _ = _walk(api, "/api/items?pageSize=5")
    last = api.get("/api/items?pageSize=5").json()
    while last["next"]:
        last = api.get(last["next"]).json()
    backward = list(reversed([row["id"] for row in last["results"]]))
    url = last["previous"]
    while url:
        page = api.get(url).json()
        backward.extend(reversed([row["id"] for row in page["results"]]))
        url = page["previous"]
    assert list(reversed(backward)) == forward and len(forward) == 23
    first = api.get("/api/items?pageSize=5").json()
    assert first["previous"] is None


def test_rows_added_while_paging_neither_repeat_nor_shift_the_pages(api, make_items):
    make_items(6)
    first = api.get("/api/items?pageSize=3").json()
    make_items(4)  # newer: they belong before the first page, not in the next one
    second = api.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 6 and second["next"] is None


def test_links_keep_the_filters_and_page_size(api, make_items):
    make_items(4, status="available")
    make_items(3, status="missing")
    page = api.get("/api/items?status=available&pageSize=2").json()
    query = parse_qs(urlsplit(page["next"]).query)
    assert query["status"] == ["available"] and query["pageSize"] == ["2"]
    seen, _ = _walk(api, "/api/items?status=available&pageSize=2")
    assert len(seen) == 4


TAMPERED = [
    base64.urlsafe_b64encode(b"o=0&p=notadate").decode(),  # DRF's cursor format, with a bad position
    base64.urlsafe_b64encode(b"o=0&r=1&p=2026-01-01+00%3A00%3A00").decode(),  # a cursor issued before the change
    "not a cursor", "%00", "eyJ9:abc", "x" * 5000,
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", TAMPERED)
def test_forged_old_or_garbled_cursors_are_400_invalid_cursor(api, path, cursor):
    assert_error(api.get(path, {"cursor": cursor}), 400, "invalid_cursor")


def test_an_edited_cursor_and_a_cursor_of_another_list_are_refused(api, make_items):
    make_items(3)
    nxt = api.get("/api/items?pageSize=1").json()["next"]
    cursor = parse_qs(urlsplit(nxt).query)["cursor"][0]
    payload, signature = cursor.split(":")
    edited = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b'"n"', b'"p"')).decode()
    assert_error(api.get("/api/items", {"cursor": f"{edited.rstrip('=')}:{signature}"}), 400, "invalid_cursor")
    assert_error(api.get("/api/events", {"cursor": cursor}), 400, "invalid_cursor")
    assert_error(api.get("/api/items", {"cursor": [cursor, cursor]}), 400, "invalid_request")
    assert api.get("/api/items", {"cursor": cursor}).status_code == 200


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("size", ["null", "-1", "0", "201", "abc", "", "1.5", "٥", "+5", " 5", "99999999999999999999"])
def test_a_page_size_outside_1_to_200_is_400_naming_it(api, path, size):
    error = assert_error(api.get(path, {"pageSize": size}), 400, "invalid_request")
    assert list(error["details"]["fields"]) == ["pageSize"]


@pytest.mark.parametrize("path", LISTS)
def test_page_sizes_at_the_bounds_are_served(api, path):
    for size in ("1", "200"):
        assert api.get(path, {"pageSize": size}).status_code == 200
