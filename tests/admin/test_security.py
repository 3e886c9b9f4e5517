"""The console's doors: who sees the dashboard and the trade-URL tokens, and admin
logins throttled per username and address, with lockouts in the audit trail."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from items.models import SteamUser, UserTradeUrl
from tests.support.admin import PASSWORD, events_of

TOKEN = "AbCdEf12"
SHOP_TOKEN = "ShOp9876"
TRADE_URL = f"https://steamcommunity.com/tradeoffer/new/?partner=40000001&token={TOKEN}"

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_with_trade_url():
    user = SteamUser.objects.create(steam_id=76561197960265728 + 40000001, trade_url=TRADE_URL)
    # A system's own URL for the user (issue 12 #1), with its own token.
    UserTradeUrl.objects.create(user=user, external_system="web_shop", trade_url=TRADE_URL.replace(TOKEN, SHOP_TOKEN))
    return user


def test_staff_without_the_dashboard_permission_see_the_plain_index(make_staff, client):
    # A staff account in no group (made by a superuser for some other task).
    client.force_login(make_staff("nobody", None))
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    assert b"Pool value" not in page.content and b"Site administration" in page.content


def test_viewers_see_the_dashboard(viewer_client):
    assert b"Pool value" in viewer_client.get(reverse("admin:index")).content


def test_viewers_see_trade_url_tokens_masked_and_operators_in_full(viewer_client, operator, user_with_trade_url):
    url = reverse("admin:items_steamuser_change", args=[user_with_trade_url.pk])
    seen_by_viewer = viewer_client.get(url).content.decode()
    assert TOKEN not in seen_by_viewer and "partner=40000001&amp;token=Ab••••••" in seen_by_viewer
    assert SHOP_TOKEN not in seen_by_viewer and "web_shop: " in seen_by_viewer and "token=Sh••••••" in seen_by_viewer

    viewer_client.force_login(operator)
    seen_by_operator = viewer_client.get(url).content.decode()
    assert TOKEN in seen_by_operator and SHOP_TOKEN in seen_by_operator


def _log_in(client, username, password, address):
    return client.post(reverse("admin:login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_admin_logins_lock_out_one_username_from_one_address_and_say_so_in_the_audit(client, operator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    cache.delete("admin-lockout:olga:203.0.113.9")
    for _ in range(2):
        assert _log_in(client, "olga", "wrong", "203.0.113.9").status_code == 200  # the form again
    assert _log_in(client, "olga", "wrong", "203.0.113.9").status_code == 429  # the third failure locks
    # Locked: even the right password is refused from that address.
    assert _log_in(client, "olga", PASSWORD, "203.0.113.9").status_code == 429
    # One event for the lockout, however often the attacker tries while it lasts.
    [lockout] = events_of("system.login_locked_out")
    assert lockout.event_data == {"username": "olga", "ipAddress": "203.0.113.9"} and lockout.severity == "warning"

    # The attacker does not lock the operator out from her own address...
    assert _log_in(client, "olga", PASSWORD, "198.51.100.7").status_code == 302
    # ...nor other operators from the attacker's.
    client.logout()
    assert _log_in(client, "victor", "wrong", "203.0.113.9").status_code == 200


def test_admin_sessions_last_the_configured_age(client, operator, settings):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    response = _log_in(client, "olga", PASSWORD, "198.51.100.7")
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 12 * 3600


def test_the_dashboard_shows_which_steam_astro_talks_to(viewer_client, settings):
    settings.STEAM_MODE = "sandbox"
    assert b"Steam: sandbox" in viewer_client.get(reverse("admin:index")).content
