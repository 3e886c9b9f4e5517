"""The OpenAPI schema: valid, served, and every response code it documents is produced by some test."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import yaml
from openapi_spec_validator import validate

from assignments.services import UNAVAILABLE_REASONS
from tests.api.conftest import SEEN_RESPONSES, USER, assert_error

pytestmark = pytest.mark.django_db

# Each operation, how to call it, and a request that passes validation (for 401/403/429/413/415).
OPERATIONS = {
    ("get", "/api/items"): ("items:read", "/api/items"),
    ("get", "/api/items/{item_id}"): ("items:read", "/api/items/00000000-0000-0000-0000-000000000000"),
    ("get", "/api/assignments"): ("assignments:read", "/api/assignments"),
    ("post", "/api/assignments"): ("assignments:write", "/api/assignments"),
    ("get", "/api/assignments/{assignment_id}"): ("assignments:read",
                                                  "/api/assignments/00000000-0000-0000-0000-000000000000"),
    ("post", "/api/assignments/{assignment_id}/cancel"): ("assignments:write",
                                                         "/api/assignments/00000000-0000-0000-0000-000000000000/cancel"),
    ("get", "/api/users/{steam_id}"): ("assignments:read", f"/api/users/{USER}"),
    ("put", "/api/users/{steam_id}"): ("assignments:write", f"/api/users/{USER}"),
    ("get", "/api/sync/runs"): ("items:read", "/api/sync/runs"),
    ("post", "/api/sync/runs"): ("sync:trigger", "/api/sync/runs"),
    ("get", "/api/events"): ("events:read", "/api/events"),
}


def load_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content) if response.content.lstrip().startswith(b"{") else yaml.safe_load(response.content)


def _component(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _is_the_error_shape(schema, ref) -> bool:
    """The API's one error shape: `Error`, or a component with the same `error` object whose
    `details` an operation states more precisely (e.g. the create's items_unavailable reasons)."""
    if ref.endswith("/Error"):
        return True
    body = _component(schema, ref)
    detail = _component(schema, body["properties"]["error"]["$ref"])
    return body["required"] == ["error"] and set(detail["required"]) == {"code", "message", "details"}


def test_schema_is_valid_openapi_3_and_documents_the_api_key_scheme(anon):
    schema = load_schema(anon)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    documented = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert documented == set(OPERATIONS) | {("get", "/api/health")}
    for (method, path), operation in ((k, schema["paths"][k[1]][k[0]]) for k in OPERATIONS):
        assert operation["security"] == [{"ApiKeyAuth": []}], path
        # 414 comes from the web server, before Astro: no body of the API's shape (tests/api/test_gunicorn.py).
        error_codes = [c for c in operation["responses"] if c.startswith(("4", "5")) and c != "414"]
        for code in error_codes:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert _is_the_error_shape(schema, ref), (path, code)
    create = schema["paths"]["/api/assignments"]["post"]
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    assert set(schema["components"]["schemas"]["AssignmentCreateInput"]["required"]) == {
        "userId", "itemIds", "assignmentType", "externalSystem"}
    assert anon.get("/api/docs/").status_code == 200
    unavailable = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    items = _component(schema, _component(schema, _component(schema, unavailable)["properties"]["error"]["$ref"])
                       ["properties"]["details"]["allOf"][0]["$ref"])["properties"]["items"]["items"]["$ref"]
    reason = _component(schema, items)["properties"]["reason"]["allOf"][0]["$ref"]
    assert _component(schema, reason)["enum"] == list(UNAVAILABLE_REASONS)


@pytest.mark.parametrize("operation", list(OPERATIONS), ids=lambda op: f"{op[0]} {op[1]}")
def test_every_operation_refuses_without_key_without_scope_and_over_the_rate(make_client, make_system, anon, operation):
    method, _ = operation
    scope, url = OPERATIONS[operation]
    body = {"tradeUrl": "x"} if method == "put" else {}
    assert_error(getattr(anon, method)(url, body, format="json"), 401)

    others = [s for s in ("items:read", "assignments:write", "assignments:read", "sync:trigger", "events:read") if s != scope]
    assert_error(getattr(make_client(make_system("no_scope", scopes=others)), method)(url, body, format="json"), 403)

    limited = make_client(make_system("limited", rate_limit="1/min"))
    getattr(limited, method)(url, body, format="json")
    assert_error(getattr(limited, method)(url, body, format="json"), 429, "rate_limited")

    if method in ("post", "put"):
        big = make_client(make_system("big_bodies"))
        assert_error(big.generic(method.upper(), url, b"x" * 10, content_type="text/plain"), 415)
        raw = json.dumps({"reason": "x" * 300_000}).encode()
        assert_error(big.generic(method.upper(), url, raw, content_type="application/json"), 413, "payload_too_large")


@pytest.mark.parametrize("operation", list(OPERATIONS), ids=lambda op: f"{op[0]} {op[1]}")
def test_every_operation_answers_503_when_redis_is_down(api, settings, operation):
    method, _ = operation
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the rate limiter's own connection (astro.core.ratelimit)
    response = getattr(api, method)(OPERATIONS[operation][1], {}, format="json")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"]


def test_every_read_operation_has_a_400(api):
    for url in ("/api/items?appId=x", "/api/items/nope", "/api/assignments?status=x", "/api/assignments/nope",
                "/api/users/nope", "/api/sync/runs?cursor=x", "/api/events?itemId=x"):
        assert_error(api.get(url), 400)


def test_every_documented_response_code_is_produced_by_some_test(anon):
    """Runs last (tests/api/conftest.py orders it) and only with the whole API suite."""
    schema = load_schema(anon)
    documented = {
        (method, path, int(code))
        for path, ops in schema["paths"].items() for method, op in ops.items() for code in op["responses"]
        if code != "414"  # gunicorn's, shown over HTTP by tests/api/test_gunicorn.py
    }
    paths = set(schema["paths"])  # (the catch-all JSON 404 route and /api/schema/ itself are not operations)
    # HEAD is GET without the body (tests/api/test_scopes.py), not an operation of its own.
    seen = {(m, p, s) for m, p, s in SEEN_RESPONSES if p in paths and m != "head"}
    if len({(m, p) for m, p, _ in seen}) < len(OPERATIONS):
        pytest.skip("run the whole tests/api suite: this compares against every other test's responses")
    missing = defaultdict(list)
    for method, path, code in sorted(documented - seen):
        missing[f"{method.upper()} {path}"].append(code)
    assert not missing, f"documented but never produced by a test: {dict(missing)}"
    undocumented = {(m, p, s) for m, p, s in seen - documented if s not in (405, 406)}
    assert not undocumented, f"produced by tests but not documented: {sorted(undocumented)}"
