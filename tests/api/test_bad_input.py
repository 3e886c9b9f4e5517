"""Bad input of every kind: a 4xx with the error shape, nothing changed, never a 500."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from assignments.models import Assignment
from items.models import Item
from tests.api.conftest import USER, RecordingClient, assert_error, assignment_body

pytestmark = pytest.mark.django_db

FUZZ = hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def post_raw(client, raw: bytes, content_type="application/json", path="/api/assignments", **extra):
    return client.post(path, raw, content_type=content_type, **extra)


@pytest.mark.parametrize("raw", [
    b"{", b"not json", b'{"userId": NaN}', b'{"userId": Infinity}', b"\xff\xfe\x00",
    b'{"userId": 1, "userId": 2}',                      # duplicate keys are ambiguous
    b"[" * 100_000 + b"]" * 100_000,                     # nesting beyond the parser's recursion limit
    b'{"userId": ' + b"9" * 5000 + b"}",                 # beyond Python's int-digits limit
])
def test_malformed_json_is_400(api, raw):
    assert_error(post_raw(api, raw), 400, "malformed_json")


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"null", b"42", b"true"])
def test_a_body_that_is_not_an_object_is_400(api, raw):
    assert_error(post_raw(api, raw), 400, "invalid_request")


@pytest.mark.parametrize("field,value", [
    ("userId", True), ("userId", 1.5), ("userId", "abc"), ("userId", -1), ("userId", 0), ("userId", 10**40),
    ("userId", "7656119812345678９"), ("userId", 76561197960265728), ("userId", [USER]), ("userId", None),
    ("itemIds", "not-a-list"), ("itemIds", {"a": 1}), ("itemIds", [1, 2]), ("itemIds", ["nope"]), ("itemIds", []),
    ("itemIds", None), ("assignmentType", 5), ("assignmentType", ""), ("assignmentType", "x" * 65),
    ("assignmentType", "has space"), ("externalSystem", 7), ("externalContext", []), ("externalContext", "s"),
    ("externalContext", {"a": "nul\u0000"}), ("externalContext", {"nul\u0000": 1}),
    ("externalContext", json.loads("[" * 20 + "]" * 20) and {"deep": json.loads("[" * 20 + "]" * 20)}),
    ("priority", "high"), ("priority", 10**30), ("priority", 1.5), ("reason", ["x"]), ("reason", "r" * 2001),
    ("tradeUrl", 5), ("reason", "nul\u0000"),
])
def test_wrong_types_and_values_are_400_per_field(api, make_items, field, value):
    items = make_items(1)
    body = assignment_body([items[0].id])
    body[field] = value
    error = assert_error(api.post("/api/assignments", body, format="json"), 400, "invalid_request")
    assert any(path.split(".")[0] == field for path in error["details"]["fields"]), error
    assert Item.objects.get(id=items[0].id).status == "available"


@pytest.mark.parametrize("escaped", [r'{"a": "\ud800"}', r'{"\udfff": 1}', r'{"a": ["\u0000"]}'])
def test_strings_postgresql_cannot_store_are_400(api, make_items, escaped):
    # Lone surrogates and NUL are valid JSON escapes but PostgreSQL jsonb refuses them.
    body = json.dumps(assignment_body([make_items(1)[0].id]))[:-1] + ', "externalContext": ' + escaped + "}"
    body = body.replace('"externalContext": {"giveawayId": "gw_123", "serverName": "Community Server #1"}, ', "")
    error = assert_error(post_raw(api, body.encode()), 400, "invalid_request")
    assert error["details"]["fields"]["externalContext"][0]["code"] == "bad_character"


@pytest.mark.parametrize("field", ["userId", "itemIds", "assignmentType", "externalSystem"])
def test_required_fields(api, make_items, field):
    body = assignment_body([make_items(1)[0].id])
    del body[field]
    error = assert_error(api.post("/api/assignments", body, format="json"), 400, "invalid_request")
    assert error["details"]["fields"][field][0]["code"] == "required"


@pytest.mark.parametrize("field,code", [
    ("status", "read_only"), ("deliveredAt", "read_only"), ("id", "read_only"), ("totalItemsCount", "read_only"),
    ("user_id", "unknown_field"), ("itemids", "unknown_field"),
])
def test_unknown_and_read_only_fields_are_refused(api, make_items, field, code):
    body = assignment_body([make_items(1)[0].id])
    body[field] = "delivered"
    error = assert_error(api.post("/api/assignments", body, format="json"), 400, "invalid_request")
    assert error["details"]["fields"][field] == [{"code": code, "message": error["details"]["fields"][field][0]["message"]}]
    assert not Assignment.objects.exists()


def test_limits_items_duplicates_and_context_size(api, make_items, settings):
    settings.API_MAX_ITEMS_PER_ASSIGNMENT = 3
    items = make_items(4)
    error = assert_error(api.post("/api/assignments", assignment_body([i.id for i in items]), format="json"), 400)
    assert error["details"]["fields"]["itemIds"][0]["code"] == "too_many"
    error = assert_error(api.post("/api/assignments", assignment_body([items[0].id] * 2), format="json"), 400)
    assert error["details"]["fields"]["itemIds"][0]["code"] == "duplicate"
    settings.API_MAX_EXTERNAL_CONTEXT_BYTES = 300
    body = assignment_body([items[0].id], externalContext={"blob": "x" * 400})
    error = assert_error(api.post("/api/assignments", body, format="json"), 400)
    assert error["details"]["fields"]["externalContext"][0]["code"] == "too_large"
    assert not Assignment.objects.exists()


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    raw = json.dumps({"reason": "x" * 4096}).encode()
    assert_error(post_raw(api, raw), 413, "payload_too_large")
    assert_error(post_raw(api, raw, path="/api/sync/runs"), 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"])
def test_wrong_content_type_is_415(api, make_items, content_type):
    raw = json.dumps(assignment_body([make_items(1)[0].id])).encode()
    assert_error(post_raw(api, raw, content_type=content_type), 415, "unsupported_media_type")


def test_missing_content_type_is_415(api, make_items):
    raw = json.dumps(assignment_body([make_items(1)[0].id])).encode()
    response = api.generic("POST", "/api/assignments", raw)  # no Content-Type header at all
    assert_error(response, 415, "unsupported_media_type")


def test_put_user_refuses_wrong_content_type(api):
    response = api.put(f"/api/users/{USER}", b"tradeUrl=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    response = api.put(f"/api/users/{USER}", b"x" * 10, content_type="application/json")
    assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize("path", [
    "/api/assignments/123", "/api/assignments/123/cancel", "/api/items/xyz", "/api/users/abc",
    "/api/users/1", "/api/users/76561197960265728", "/api/users/99999999999999999999999999",
])
def test_bad_ids_in_the_path_are_400(api, path):
    method = api.post if path.endswith("/cancel") else api.get
    assert_error(method(path), 400, "invalid_request")


def test_unknown_api_urls_and_methods_answer_json(api, anon):
    assert_error(anon.get("/api/nope"), 404, "not_found")
    strict = RecordingClient(enforce_csrf_checks=True)  # as a real client: no CSRF cookie or token
    assert_error(strict.post("/api/nope", {}, format="json"), 404, "not_found")
    strict.credentials(HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"])
    assert strict.post("/api/sync/runs").status_code == 202
    assert_error(api.get("/api/assignments/"), 404, "not_found")
    assert_error(api.delete("/api/assignments"), 405, "method_not_allowed")
    assert_error(api.patch(f"/api/users/{USER}", {}, format="json"), 405, "method_not_allowed")
    assert_error(api.get("/api/items", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_bad_query_parameters_are_400(api):
    for query in ("status=gone", "appId=abc", "appId=99999999999999999999", "minValue=x", "tradable=maybe",
                  "contextId=-1"):
        assert_error(api.get(f"/api/items?{query}"), 400, "invalid_request")
    for query in ("assignmentId=nope", "userId=x", "category=bogus", "createdBefore=tomorrow"):
        assert_error(api.get(f"/api/events?{query}"), 400, "invalid_request")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["userId", "itemIds", "assignmentType", "externalSystem", "externalContext", "tradeUrl", "priority", "reason",
     "status", "id", "deliveredAt", "x"]
)


@FUZZ
@given(body=st.dictionaries(field_names, json_values, max_size=8))
def test_fuzzed_bodies_never_500(api, body):
    response = api.post("/api/assignments", body, format="json")
    assert response.status_code < 500, response.content
    if response.status_code != 201:
        assert_error(response, response.status_code)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_fuzzed_bytes_never_500(api, raw):
    response = post_raw(api, raw)
    assert 400 <= response.status_code < 500, response.content
    assert_error(response, response.status_code)


@FUZZ
@given(item_id=st.text(max_size=50), steam_id=st.text(max_size=30))
def test_fuzzed_path_ids_never_500(api, item_id, steam_id):
    for path in (f"/api/items/{item_id}", f"/api/users/{steam_id}", f"/api/assignments/{item_id}"):
        response = api.get(path.replace("?", "%3F").replace("#", "%23"))
        assert response.status_code < 500, (path, response.content)


@FUZZ
@given(user=st.one_of(st.integers(), st.text(max_size=25)), trade_url=st.text(max_size=120))
def test_fuzzed_trade_urls_never_500(api, user, trade_url):
    response = api.put(f"/api/users/{USER}", {"tradeUrl": trade_url}, format="json")
    assert response.status_code in (200, 400), response.content
    response = api.post("/api/assignments", assignment_body([uuid.uuid4()], user=user, tradeUrl=trade_url),
                        format="json")
    assert response.status_code in (400, 409), response.content


def test_a_disallowed_host_gets_the_error_shape_not_an_html_page(api):
    response = api.get("/api/items", HTTP_HOST="astro.attacker.example")
    assert_error(response, 400, "bad_request")
