"""Gateway vs sandbox: sending, confirming, reading and cancelling trade offers, and every send fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from astro.steam.errors import (
    SteamAmbiguousError,
    SteamPermanentError,
    SteamRateLimited,
    SteamSessionExpired,
    SteamTransientError,
)
from astro.steam.models import BotSession
from astro.steam.types import AssetRef, OfferState
from tests.steam.gateway_http import fresh_gateway, logins

# Logging in reads and writes the bot's row in bot_sessions.
pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(sandbox):
    return fresh_gateway()


@pytest.fixture
def user(sandbox):
    return sandbox.create_user("ignore")


def bot_assets(sandbox, count=1, appid=730, contextid=2) -> list[AssetRef]:
    made = sandbox.add_items(count=count, appid=appid, contextid=contextid)
    return [AssetRef(app_id=appid, context_id=contextid, asset_id=int(a["assetid"])) for a in made]


def sends(sandbox, since=0):
    return sandbox.requests_log(since=since, path_prefix="/tradeoffer/new/send")


def test_send_confirm_and_read_back(sandbox, gateway, user):
    assets = bot_assets(sandbox, 2)

    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="Astro delivery astro:t-1")

    assert sent.needs_confirmation is True
    assert sandbox.offer(sent.offer_id)["state"] == 9
    offer = gateway.get_offer(sent.offer_id)
    assert offer.state is OfferState.NEEDS_CONFIRMATION
    assert offer.message == "Astro delivery astro:t-1"
    assert offer.partner_steam_id == int(user["steamId"])
    assert offer.is_our_offer is True
    assert sorted(a.asset_id for a in offer.items_to_give) == sorted(a.asset_id for a in assets)

    gateway.confirm_offer(sent.offer_id)

    assert sandbox.offer(sent.offer_id)["state"] == 2
    assert gateway.get_offer(sent.offer_id).state is OfferState.ACTIVE
    # Idempotent: confirming again finds no confirmation and an offer already past it.
    gateway.confirm_offer(sent.offer_id)
    assert [o.offer_id for o in gateway.get_sent_offers()] == [sent.offer_id]


def test_unknown_offer_is_none(sandbox, gateway):
    assert gateway.get_offer("999999") is None


def test_confirm_of_an_offer_canceled_meanwhile_is_permanent(sandbox, gateway, user):
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    sandbox.act_on_offer(sent.offer_id, "cancel")
    with pytest.raises(SteamPermanentError) as refused:
        gateway.confirm_offer(sent.offer_id)
    assert refused.value.code == "invalid_state"


def test_confirm_after_the_session_expired(sandbox, gateway, user):
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    mark = sandbox.last_request_seq()
    sandbox.expire_sessions()

    gateway.confirm_offer(sent.offer_id)  # needauth -> renew -> confirm

    assert sandbox.offer(sent.offer_id)["state"] == 2
    assert logins(sandbox, mark) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"tradeToken": "new"}, "access_denied"),  # the trade URL's token is stale: (15)
        ({"tradeBanned": True}, "partner_trade_banned"),
    ],
)
def test_send_refusals_are_permanent_and_create_nothing(sandbox, gateway, user, change, code):
    trade_url = user["tradeUrl"]
    sandbox.update_user(user["steamId"], **change)
    with pytest.raises(SteamPermanentError) as refused:
        gateway.send_offer(trade_url=trade_url, assets=bot_assets(sandbox), message="astro:t")
    assert refused.value.code == code
    assert sandbox.offers() == []


def test_send_of_an_item_we_do_not_have_is_item_unavailable(sandbox, gateway, user):
    with pytest.raises(SteamPermanentError) as refused:
        gateway.send_offer(trade_url=user["tradeUrl"], assets=[AssetRef(730, 2, 123456789)], message="astro:t")
    assert refused.value.code == "items_unavailable" and refused.value.eresult == 26


def test_bad_trade_url_never_reaches_steam(sandbox, gateway):
    with pytest.raises(SteamPermanentError) as refused:
        gateway.send_offer(trade_url="https://example.com/tradeoffer/new/?partner=1&token=x",
                           assets=[AssetRef(730, 2, 1)], message="astro:t")
    assert refused.value.code == "invalid_trade_url"
    assert sends(sandbox) == []


@pytest.mark.parametrize("asset", [AssetRef(730, 0, 0), AssetRef(730, 2, 0), AssetRef(730, 0, 5)])
def test_an_asset_with_id_or_context_0_never_reaches_steam(sandbox, gateway, user, asset):
    # Steam drops such an asset silently and sends the rest (a glitched listing's ids are 0).
    with pytest.raises(SteamPermanentError) as refused:
        gateway.send_offer(trade_url=user["tradeUrl"], assets=[*bot_assets(sandbox), asset], message="astro:t")
    assert refused.value.code == "invalid_request"
    assert sends(sandbox) == []


def test_send_timeout_after_steam_created_the_offer_is_ambiguous(sandbox, gateway, user):
    assets = bot_assets(sandbox)
    sandbox.set_fault("send_timeout", mode="drop", count=1)

    with pytest.raises(SteamAmbiguousError):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="Astro delivery astro:t-2")

    (offer,) = sandbox.offers()
    assert len(sends(sandbox)) == 1  # never re-sent
    # The caller's way out: its tagged offer is among the active sent offers.
    found = [o for o in gateway.get_sent_offers() if "astro:t-2" in o.message]
    assert [o.offer_id for o in found] == [offer["id"]]


def test_send_that_hangs_past_the_timeout_is_ambiguous(sandbox, user):
    gateway = fresh_gateway(timeout=1.0)
    assets = bot_assets(sandbox)
    gateway.ensure_session()
    sandbox.set_fault("send_timeout", mode="hang", holdSeconds=2, count=1)

    with pytest.raises(SteamAmbiguousError):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:t-3")
    assert len(sandbox.offers()) == 1 and len(sends(sandbox)) == 1


def test_send_error_16_that_created_the_offer_is_ambiguous(sandbox, gateway, user):
    sandbox.set_fault("send_error", eresult=16, createOffer=True, count=1)
    with pytest.raises(SteamAmbiguousError):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    assert len(sandbox.offers()) == 1


@pytest.mark.parametrize("eresult", [20, 10])
def test_send_error_busy_is_transient_and_not_retried(sandbox, gateway, user, eresult):
    sandbox.set_fault("send_error", eresult=eresult, count=1)
    with pytest.raises(SteamTransientError):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    assert sandbox.offers() == [] and len(sends(sandbox)) == 1


def test_429_on_send_is_rate_limited_and_not_retried(sandbox, gateway, user):
    assets = bot_assets(sandbox)
    gateway.ensure_session()
    sandbox.set_fault("rate_limit", count=1, pathPrefix="/tradeoffer/new/send")
    with pytest.raises(SteamRateLimited):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:t")
    assert sandbox.offers() == [] and len(sends(sandbox)) == 1


def test_5xx_page_on_send_is_ambiguous(sandbox, gateway, user):
    assets = bot_assets(sandbox)
    gateway.ensure_session()
    sandbox.set_fault("server_error", status=502, count=1, pathPrefix="/tradeoffer/new/send")
    # An HTML error page from the front end says nothing about the offer.
    with pytest.raises(SteamAmbiguousError):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:t")
    assert len(sends(sandbox)) == 1


def test_401_on_send_renews_the_session_and_sends_nothing(sandbox, gateway, user):
    assets = bot_assets(sandbox)
    gateway.ensure_session()
    mark = sandbox.last_request_seq()
    sandbox.expire_sessions()

    with pytest.raises(SteamSessionExpired):
        gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:t")

    assert sandbox.offers() == [] and len(sends(sandbox, mark)) == 1
    assert logins(sandbox, mark) == 1
    # The next send works on the renewed session.
    assert gateway.send_offer(trade_url=user["tradeUrl"], assets=assets, message="astro:t").offer_id


def acknowledgements(sandbox, since=0):
    return sandbox.requests_log(since=since, path_prefix="/trade/new/acknowledge")


def steam_forgets_the_acknowledgement(sandbox):
    sandbox.call("POST", "/sandbox/bots/bot/trade-protection", {"acknowledged": False})


def test_trade_protection_is_acknowledged_once_per_bot_before_its_first_send(sandbox, gateway, user):
    sandbox.set_config(requireTradeAcknowledgement=True, tradeAcknowledgementSymptom="send")

    assert gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t").offer_id

    (ack,) = acknowledgements(sandbox)
    assert ack["method"] == "POST" and ack["status"] == 200
    assert [r["status"] for r in sends(sandbox)] == [200]
    assert BotSession.objects.get(steam_id=sandbox.bot.steam_id).trade_protection_acknowledged_at is not None
    # Remembered in the bot's row: another process sends without acknowledging again.
    other = fresh_gateway()
    assert other.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:u").offer_id
    assert len(acknowledgements(sandbox)) == 1
    gateway.acknowledge_trade_protection()  # harmless when done already
    assert sandbox.call("GET", "/sandbox/bots/bot/trade-protection")["acknowledged"] is True


def test_a_plain_15_is_met_by_acknowledging_again_and_one_more_send(sandbox, gateway, user):
    sandbox.set_config(requireTradeAcknowledgement=True, tradeAcknowledgementSymptom="send")
    gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    steam_forgets_the_acknowledgement(sandbox)
    mark = sandbox.last_request_seq()

    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:again")

    assert sandbox.offer(sent.offer_id)["message"] == "astro:again"
    assert [r["status"] for r in sends(sandbox, mark)] == [500, 200]
    assert len(acknowledgements(sandbox, mark)) == 1


def test_a_15_that_persists_after_acknowledging_is_the_users_side(sandbox, gateway, user):
    gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    sandbox.update_user(user["steamId"], tradeToken="new")  # the trade URL Astro has is stale now
    mark = sandbox.last_request_seq()

    with pytest.raises(SteamPermanentError) as refused:
        gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")

    assert (refused.value.code, refused.value.eresult) == ("access_denied", 15)
    assert [r["status"] for r in sends(sandbox, mark)] == [500, 500]  # one more try, never a third
    assert len(acknowledgements(sandbox, mark)) == 1
    assert len(sandbox.offers(partner=user["steamId"])) == 1  # the first one only


def test_a_refused_confirmation_is_met_by_acknowledging_again_and_one_more_round(sandbox, gateway, user):
    sandbox.set_config(requireTradeAcknowledgement=True, tradeAcknowledgementSymptom="confirmations")
    first = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    gateway.confirm_offer(first.offer_id)
    second = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:u")
    steam_forgets_the_acknowledgement(sandbox)
    mark = sandbox.last_request_seq()

    gateway.confirm_offer(second.offer_id)

    assert sandbox.offer(second.offer_id)["state"] == 2
    ops = sandbox.requests_log(since=mark, path_prefix="/mobileconf/")
    assert [r["path"] for r in ops] == ["/mobileconf/getlist", "/mobileconf/multiajaxop", "/mobileconf/ajaxop",
                                        "/mobileconf/getlist", "/mobileconf/multiajaxop"]
    assert len(acknowledgements(sandbox, mark)) == 1


def test_cancel_is_idempotent(sandbox, gateway, user):
    sent = gateway.send_offer(trade_url=user["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    gateway.confirm_offer(sent.offer_id)

    gateway.cancel_offer(sent.offer_id)
    assert gateway.get_offer(sent.offer_id).state is OfferState.CANCELED
    gateway.cancel_offer(sent.offer_id)  # already canceled: done


def test_cancel_of_an_accepted_offer_is_invalid_state(sandbox, gateway):
    accepting = sandbox.create_user("accept")
    sent = gateway.send_offer(trade_url=accepting["tradeUrl"], assets=bot_assets(sandbox), message="astro:t")
    gateway.confirm_offer(sent.offer_id)
    assert gateway.get_offer(sent.offer_id).state is OfferState.ACCEPTED
    with pytest.raises(SteamPermanentError) as refused:
        gateway.cancel_offer(sent.offer_id)
    assert refused.value.code == "invalid_state"


def test_sent_offers_across_cursor_pages(sandbox, gateway, user):
    sandbox.set_config(tradeOffersPageSize=2)
    assets = bot_assets(sandbox, 5)
    ids = [gateway.send_offer(trade_url=user["tradeUrl"], assets=[a], message=f"astro:p{n}").offer_id
           for n, a in enumerate(assets)]
    gateway.cancel_offer(ids[0])
    before = datetime.now(UTC) - timedelta(minutes=5)

    active = gateway.get_sent_offers()
    assert sorted(o.offer_id for o in active) == sorted(ids[1:])
    assert all(o.state is OfferState.NEEDS_CONFIRMATION for o in active)
    cursors = [r["params"].get("cursor") for r in sandbox.requests_log(path_prefix="/IEconService/GetTradeOffers/")]
    assert cursors == ["0", "2"]
    # Every request carries the access token, never the key (keys do not see CS2 offers).
    for r in sandbox.requests_log(path_prefix="/IEconService/"):
        assert "access_token" in r["params"] and "key" not in r["params"]

    changed = gateway.get_sent_offers(active_only=True, changed_since=before)
    assert sorted(o.offer_id for o in changed) == sorted(ids)
    everything = gateway.get_sent_offers(active_only=False)
    assert {o.offer_id: o.state for o in everything}[ids[0]] is OfferState.CANCELED


def test_web_api_429_on_reads_is_retried(sandbox, gateway, user):
    gateway.ensure_session()
    sandbox.set_fault("rate_limit", count=1, pathPrefix="/IEconService/GetTradeOffers/")
    assert gateway.get_sent_offers() == []
