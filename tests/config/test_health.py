"""GET /api/health says which Steam Astro talks to, so a box on the sandbox is seen as such."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["sandbox", "live"])
def test_health_shows_the_steam_mode(client, settings, mode):
    settings.STEAM_MODE = mode
    assert client.get("/api/health").json()["steamMode"] == mode
