"""The create operation's 409 documents every reason an item can be unavailable for."""

from __future__ import annotations

import json

import pytest
import yaml

from assignments.services import UNAVAILABLE_REASONS

pytestmark = pytest.mark.django_db


def test_the_409_of_a_create_lists_every_unavailable_reason_and_says_more_may_come(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body = response.content
    schema = json.loads(body) if body.lstrip().startswith(b"{") else yaml.safe_load(body)
    conflict = schema["paths"]["/api/assignments"]["post"]["responses"]["409"]

    for reason in UNAVAILABLE_REASONS:
        assert f"`{reason}`" in conflict["description"], reason
    assert "must accept a `reason` they do not know" in conflict["description"]
    [example] = conflict["content"]["application/json"]["examples"].values()
    assert {item["reason"] for item in example["value"]["error"]["details"]["items"]} <= set(UNAVAILABLE_REASONS)
