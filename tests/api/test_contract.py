"""Bad input the schema refuses is a 400 naming the field, never a 500 (issue 12 #14, #15,
and the shared path: any DataError), and the server refuses exactly what the schema refuses."""

from __future__ import annotations

import json
import re

import pytest

from assignments.models import Assignment
from astro.core.steamids import STEAM_ID64_MAX, STEAM_ID64_MIN
from items.models import SteamUser
from tests.api.conftest import USER, assert_error, assignment_body
from tests.api.test_schema import load_schema

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/assignments", "/api/events"])
@pytest.mark.parametrize("name", ["createdAfter", "createdBefore"])
@pytest.mark.parametrize("value", ["2026-05-22T11:38:36+23:59", "2026-05-22T11:38:36-16:00"])
def test_an_offset_postgresql_cannot_store_is_400_naming_the_parameter(api, path, name, value):
    error = assert_error(api.get(path, {name: value}), 400, "invalid_request")
    assert list(error["details"]["fields"]) == [name]


@pytest.mark.parametrize("path", ["/api/assignments", "/api/events"])
def test_offsets_up_to_15_59_and_z_are_served(api, path):
    for value in ("2026-05-22T11:38:36+15:59", "2026-05-22T11:38:36-15:59", "2026-05-22T11:38:36Z",
                  "0001-01-01T00:00:00+15:00", "9999-12-31T23:59:59.999999-15:00"):
        assert api.get(path, {"createdAfter": value}).status_code == 200, value


PARTNER = f"partner={USER - 76561197960265728}"
UNICODE_PARTNERS = ["partner=%C2%B2", "partner=²", "partner=１６３１９１０６１", f"{PARTNER}%0A", "partner=١٢٣"]


@pytest.mark.parametrize("partner", UNICODE_PARTNERS)
def test_a_unicode_digit_in_a_trade_url_is_400_on_put_users(api, partner):
    url = f"https://steamcommunity.com/tradeoffer/new/?{partner}&token=AbCd1234"
    error = assert_error(api.put(f"/api/users/{USER}", {"tradeUrl": url}, format="json"), 400, "invalid_trade_url")
    assert error["details"]["reason"] == "malformed" and "tradeUrl" in error["details"]["fields"]
    assert not SteamUser.objects.exists()


@pytest.mark.parametrize("partner", UNICODE_PARTNERS)
def test_a_unicode_digit_in_a_trade_url_is_400_on_post_assignments(api, make_items, partner):
    url = f"https://steamcommunity.com/tradeoffer/new/?{partner}&token=AbCd1234"
    body = assignment_body([make_items(1)[0].id], tradeUrl=url)
    assert_error(api.post("/api/assignments", body, format="json"), 400, "invalid_trade_url")
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("url", [
    f"https://steamcommunity.com/tradeoffer/new/?{PARTNER}&token=AbCd1234\n",
    f" https://steamcommunity.com/tradeoffer/new/?{PARTNER}&token=AbCd1234",
    f"https://steamcommunity.com/tradeoffer/new/?token=AbCd1234&{PARTNER}",
])
def test_a_trade_url_not_exactly_as_steam_shows_it_is_refused(api, url):
    assert_error(api.put(f"/api/users/{USER}", {"tradeUrl": url}, format="json"), 400, "invalid_trade_url")


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.api.dataerror_urls")
@pytest.mark.parametrize("name,value", [
    ("since", "2026-05-22T11:38:36+23:59"), ("since", "not a date"), ("since", "2026-13-01"), ("since", "x\u0000"),
    ("after", "99999-01-01"), ("after", "tomorrow"),
])
def test_any_data_error_while_serving_a_request_is_a_400_naming_the_parameter(api, name, value):
    response = api.get("/api/unchecked", {name: value, "other": "2026-01-01"})
    error = assert_error(response, 400, "invalid_request")
    assert list(error["details"]["fields"]) == [name], error
    assert api.get("/api/unchecked", {name: "2026-05-22T11:38:36Z"}).json() == {"any": False}


# ------------------------------------------------- the server refuses what the schema does


def _steam_id_pattern(anon):
    schema = load_schema(anon)
    [param] = [p for p in schema["paths"]["/api/users/{steam_id}"]["get"]["parameters"] if p["in"] == "path"]
    return re.compile(param["schema"]["pattern"])


@pytest.mark.parametrize("value,valid", [
    (str(STEAM_ID64_MIN), True), (str(STEAM_ID64_MAX), True), ("76561198123456789", True),
    (str(STEAM_ID64_MIN - 1), False), (str(STEAM_ID64_MAX + 1), False), ("76561190000000000", False),
    ("076561198123456789", False), ("7656119812345678", False), ("76561199999999999", True),
])
def test_the_schemas_steamid_pattern_and_the_server_agree(api, anon, value, valid):
    assert bool(_steam_id_pattern(anon).fullmatch(value)) is valid
    response = api.get(f"/api/users/{value}")
    assert (response.status_code != 400) is valid, response.content
    body = assignment_body(["00000000-0000-0000-0000-000000000000"], user=value)
    assert (api.post("/api/assignments", body, format="json").status_code != 400) is valid
    if value.isdigit() and not value.startswith("0"):
        body = assignment_body(["00000000-0000-0000-0000-000000000000"], user=int(value))
        assert (api.post("/api/assignments", body, format="json").status_code != 400) is valid


@pytest.mark.parametrize("value", [
    "0c3e2b7a1d4f4a8e9b6c7e5d4c3b2a10", "{0c3e2b7a-1d4f-4a8e-9b6c-7e5d4c3b2a10}",
    "urn:uuid:0c3e2b7a-1d4f-4a8e-9b6c-7e5d4c3b2a10", "0c3e2b7a-1d4f-4a8e-9b6c-7e5d4c3b2a10\n",
])
def test_only_canonical_uuids_are_uuids(api, value):
    from urllib.parse import quote

    assert_error(api.get(f"/api/items/{quote(value)}"), 400, "invalid_request")
    assert_error(api.get("/api/events", {"itemId": value}), 400, "invalid_request")
    body = assignment_body([value])
    error = assert_error(api.post("/api/assignments", body, format="json"), 400, "invalid_request")
    assert "itemIds.0" in error["details"]["fields"]


@pytest.mark.parametrize("query", [
    "appId=1.5", "appId=1e3", "appId=", "appId=%20730", "contextId=2.0", "minValue=", "minValue=0x10",
    "minValue=1e400", "minValue=.5", "tradable=True", "tradable=1", "status=", "marketHashName=" + "x" * 256,
])
def test_item_filters_are_as_strict_as_the_schema(api, query):
    error = assert_error(api.get(f"/api/items?{query}"), 400, "invalid_request")
    assert list(error["details"]["fields"]) == [query.split("=")[0]]


@pytest.mark.parametrize("query", ["userId=1.5", "userId=", "createdAfter=2026-05-22", "createdAfter=2026-05-22T11:38:36",
                                   "createdAfter=2026-05-22%2011:38:36Z", "status=pending&status=nope"])
def test_assignment_filters_are_as_strict_as_the_schema(api, query):
    assert_error(api.get(f"/api/assignments?{query}"), 400, "invalid_request")


@pytest.mark.parametrize("field,value", [
    ("assignmentType", "giveaway\n"), ("reason", "\ud800"), ("externalSystem", "nul\u0000"),
])
def test_strings_the_schema_refuses_are_refused(api, make_items, field, value):
    raw = json.dumps(assignment_body([make_items(1)[0].id], **{field: value}))
    error = assert_error(api.post("/api/assignments", raw, content_type="application/json"), 400, "invalid_request")
    assert field in error["details"]["fields"]
