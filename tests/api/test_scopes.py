"""Scopes: every method an API view implements needs one, HEAD needs GET's, and a method a
view does not implement answers 405 whatever the key may do."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from astro.core.api.plumbing import ApiView
from astro.integrations.models import ALL_SCOPES
from tests.api.conftest import USER, assert_error

pytestmark = pytest.mark.django_db


def _api_views(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None)
            if view is not None:
                yield prefix + str(entry.pattern), view, getattr(entry.callback, "view_initkwargs", {})


def _implemented(view_class) -> set[str]:
    view = view_class()
    view.setup(None)  # Django adds `head` here for every view with `get`
    return {m.upper() for m in view.http_method_names if hasattr(view, m)}


def test_every_implemented_method_of_every_api_view_has_its_scope():
    views = [(route, view) for route, view, _ in _api_views() if issubclass(view, ApiView)]
    assert len(views) >= 7, views
    for route, view in views:
        mapped = view.required_scopes
        for method in _implemented(view):
            needed = mapped.get("GET" if method == "HEAD" else method)
            assert needed in ALL_SCOPES, f"{route}: {method} has no scope"
        assert "OPTIONS" not in _implemented(view), f"{route}: OPTIONS is answered without a scope"
    # Every view under /api/ that takes a key is an ApiView (the health check and the schema take none).
    for route, view, initkwargs in _api_views():
        if route.startswith("api/") and view not in {v for _, v in views}:
            assert initkwargs.get("authentication_classes", view.authentication_classes) == [], route


READS = [
    ("/api/items", "items:read"), ("/api/items/00000000-0000-0000-0000-000000000000", "items:read"),
    ("/api/assignments", "assignments:read"),
    ("/api/assignments/00000000-0000-0000-0000-000000000000", "assignments:read"),
    (f"/api/users/{USER}", "assignments:read"), ("/api/sync/runs", "items:read"), ("/api/events", "events:read"),
]


@pytest.mark.parametrize("path,scope", READS)
def test_head_needs_the_scope_of_get(make_client, make_system, path, scope):
    client = make_client(make_system(scopes=[s for s in ALL_SCOPES if s != scope]))
    response = client.head(path)
    assert response.status_code == 403
    assert client.get(path).status_code == 403
    allowed = make_client(make_system("allowed", scopes=[scope]))
    assert allowed.head(path).status_code == allowed.get(path).status_code != 403


def test_head_is_not_a_back_door_to_search_results(make_client, make_system, make_items):
    make_items(3, item_name="Dragon Lore")
    sync_only = make_client(make_system(scopes=["sync:trigger"]))
    assert sync_only.head("/api/items?search=Dragon").status_code == 403
    assert sync_only.head(f"/api/users/{USER}").status_code == 403


@pytest.mark.parametrize("method,path", [
    ("head", "/api/assignments/00000000-0000-0000-0000-000000000000/cancel"),
    ("delete", "/api/assignments"), ("patch", f"/api/users/{USER}"), ("put", "/api/items"),
    ("options", "/api/items"), ("options", "/api/assignments"),
])
def test_a_method_a_view_does_not_implement_is_405(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 405
    if method != "head":
        assert_error(response, 405, "method_not_allowed")
    assert "OPTIONS" not in response["Allow"]
