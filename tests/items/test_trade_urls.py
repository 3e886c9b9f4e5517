"""Trade URLs per system: the service, the reads delivery uses, and the migration of today's URLs."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection, transaction

from assignments.services import assignment_create
from audit.services import record_event
from items.models import SteamUser, UserTradeUrl
from items.services import user_link_system, user_set_trade_url
from items.trade_urls import trade_url_for_delivery, user_get_for_system
from tests.support.factories import STEAM_ID_BASE, make_item, make_user

pytestmark = pytest.mark.django_db

migration = importlib.import_module("items.migrations.0006_trade_urls_to_their_systems")


def url(steam_id: int, token: str) -> str:
    return f"https://steamcommunity.com/tradeoffer/new/?partner={steam_id - STEAM_ID_BASE}&token={token}"


def test_a_systems_url_is_its_own_and_the_operators_stands_in_for_the_others():
    user = make_user()
    user_set_trade_url(steam_id=user.steam_id, trade_url=url(user.steam_id, "Oper1"), actor="ops", source="admin")
    user_set_trade_url(steam_id=user.steam_id, trade_url=url(user.steam_id, "ShopA"), actor="a", source="api",
                       external_system="a")
    user_set_trade_url(steam_id=user.steam_id, trade_url=url(user.steam_id, "ShopB"), actor="b", source="api",
                       external_system="b")

    assert trade_url_for_delivery(steam_id=user.steam_id, external_system="a").endswith("ShopA")
    assert trade_url_for_delivery(steam_id=user.steam_id, external_system="b").endswith("ShopB")
    assert trade_url_for_delivery(steam_id=user.steam_id, external_system="c").endswith("Oper1")
    assert user_get_for_system(steam_id=user.steam_id, external_system="a").trade_url.endswith("ShopA")
    assert user_get_for_system(steam_id=user.steam_id, external_system="c") is None
    assert SteamUser.objects.get(steam_id=user.steam_id).trade_url.endswith("Oper1")


def test_linking_keeps_the_url_and_the_apis_put_refuses_a_user_of_other_systems():
    from astro.core.errors import NotFound

    user = make_user()
    user_set_trade_url(steam_id=user.steam_id, trade_url=url(user.steam_id, "ShopA"), actor="a", source="api",
                       external_system="a")
    assert user_link_system(steam_id=user.steam_id, external_system="a") is False
    assert UserTradeUrl.objects.get(external_system="a").trade_url.endswith("ShopA")
    with pytest.raises(NotFound):
        user_set_trade_url(steam_id=user.steam_id, trade_url=url(user.steam_id, "ShopB"), actor="b", source="api",
                           external_system="b", only_own_users=True)
    assert not UserTradeUrl.objects.filter(external_system="b").exists()
    # A user Astro has never seen is created for the system that sets a URL.
    fresh = STEAM_ID_BASE + 987654
    user_set_trade_url(steam_id=fresh, trade_url=url(fresh, "New1"), actor="b", source="api", external_system="b",
                       only_own_users=True)
    assert user_get_for_system(steam_id=fresh, external_system="b").trade_url.endswith("New1")


def test_the_migration_gives_each_url_to_the_system_of_its_latest_api_event():
    by_api, by_operator, api_then_operator, untouched = (make_user(trade_url=None) for _ in range(4))
    for user, token in ((by_api, "Api1"), (by_operator, "Ops1"), (api_then_operator, "Ops2"), (untouched, "Demo")):
        SteamUser.objects.filter(steam_id=user.steam_id).update(trade_url=url(user.steam_id, token))
    with transaction.atomic():
        record_event(event_type="user.trade_url_set", description="x", actor="shop", source="api",
                     user_id=by_api.steam_id, external_system="shop")
        record_event(event_type="user.trade_url_set", description="x", actor="ops", source="admin",
                     user_id=by_operator.steam_id)
        record_event(event_type="user.trade_url_set", description="x", actor="shop", source="api",
                     user_id=api_then_operator.steam_id, external_system="shop")
    with transaction.atomic():
        record_event(event_type="user.trade_url_set", description="x", actor="demo", source="command",
                     user_id=api_then_operator.steam_id)
    item = make_item()
    assignment_create(user_id=untouched.steam_id, item_ids=[item.id], assignment_type="giveaway",
                      external_system="bot", actor="bot")
    UserTradeUrl.objects.all().delete()  # as before the table existed

    with connection.schema_editor() as editor:
        migration.trade_urls_to_systems(apps, editor)

    rows = set(UserTradeUrl.objects.values_list("external_system", "user_id", "trade_url"))
    assert rows == {("shop", by_api.steam_id, url(by_api.steam_id, "Api1")), ("bot", untouched.steam_id, None)}
    operator_urls = dict(SteamUser.objects.values_list("steam_id", "trade_url"))
    assert operator_urls[by_api.steam_id] is None
    assert operator_urls[by_operator.steam_id] == url(by_operator.steam_id, "Ops1")
    assert operator_urls[api_then_operator.steam_id] == url(api_then_operator.steam_id, "Ops2")
    assert operator_urls[untouched.steam_id] == url(untouched.steam_id, "Demo")

    with connection.schema_editor() as editor:
        migration.trade_urls_back_to_users(apps, editor)
    assert SteamUser.objects.get(steam_id=by_api.steam_id).trade_url == url(by_api.steam_id, "Api1")
