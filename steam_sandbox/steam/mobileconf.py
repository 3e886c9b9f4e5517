"""steamcommunity.com/mobileconf: the bot's pending confirmations (getlist, details)
and answering them, one (`ajaxop`, a GET) or many at once (`multiajaxop`, a POST
with Origin and repeated `cid[]`/`ck[]`). Every call counts for the bot
(state.counters), so a benchmark can check the confirmation budget."""

from __future__ import annotations

from .. import pages
from ..web import Response, json_response
from .auth import mobile_confirmation
from .context import Ctx, null, to_int

# Confirmation tags clients send, per endpoint: steampy and the app name the
# action; other clients send "conf" for everything (Steam checks `k` against the tag
# it was given).
LIST_TAGS = frozenset({"conf", "list"})
OP_TAGS = {
    "allow": frozenset({"allow", "accept", "conf"}), "accept": frozenset({"allow", "accept", "conf"}),
    "cancel": frozenset({"cancel", "reject", "conf"}), "reject": frozenset({"cancel", "reject", "conf"}),
}


def _names(ctx: Ctx, items: list[dict]) -> list[str]:
    return [ctx.state.inventories.description(i).market_hash_name for i in items]


def _summary_lines(ctx: Ctx, offer: dict) -> list[str]:
    give, receive = ", ".join(_names(ctx, offer["give"])), ", ".join(_names(ctx, offer["receive"]))
    return [
        f"You will give up your {give}" if give else "You will give up nothing",
        f"You will receive {receive}" if receive else "You will receive nothing",
    ]


def _count(ctx: Ctx, endpoint: str) -> None:
    ctx.state.counters.count(ctx.bot.steam_id, endpoint)


@mobile_confirmation(lambda ctx: LIST_TAGS)
def confirmation_list(ctx: Ctx) -> Response:
    state, bot = ctx.state, ctx.bot.steam_id
    least = state.config["confirmationMinIntervalSeconds"]
    since = state.counters.seconds_since_last(bot, "getlist")
    _count(ctx, "getlist")
    if least and since is not None and since < least:
        return null(429)
    confs = []
    for conf in state.confirmations.of_bot(bot):
        offer = state.offers.get(bot, conf["offer_id"])
        confs.append({
            "type": 2,  # a trade offer
            "type_name": "Trade Offer",
            "id": str(conf["id"]),
            "creator_id": str(offer["id"]),
            "nonce": conf["nonce"],
            "creation_time": conf["created"],
            "cancel": "Cancel",
            "accept": "Accept",
            "icon": "https://avatars.akamai.steamstatic.com/fef49e7fa7e1997310d705b2a6158ff8dc1cdfeb_full.jpg",
            "multi": False,
            "headline": state.persona_of(offer["partner"]),
            "summary": _summary_lines(ctx, offer),
            "warn": None,
        })
    return json_response({"success": True, "conf": confs})


@mobile_confirmation(lambda ctx, conf_id: {f"details{conf_id}", f"detail{conf_id}", "details", "detail", "conf"})
def confirmation_details(ctx: Ctx, conf_id: int) -> Response:
    state, bot = ctx.state, ctx.bot.steam_id
    _count(ctx, "details")
    conf = state.confirmations.get(bot, conf_id)
    if conf is None:
        return json_response({
            "success": False,
            "message": "There was a problem loading details for that confirmation. Please try refreshing the page or restarting the mobile app and then try again. (15)",
        })
    offer = state.offers.get(bot, conf["offer_id"])
    html = pages.confirmation_details(
        offer_id=offer["id"], partner_persona=state.persona_of(offer["partner"]),
        give=_names(ctx, offer["give"]), receive=_names(ctx, offer["receive"]),
    )
    return json_response({"success": True, "html": html})


def _op_tags(ctx: Ctx) -> frozenset[str] | None:
    return OP_TAGS.get(ctx.req.arg("op") or "")


@mobile_confirmation(_op_tags)
def confirmation_op(ctx: Ctx) -> Response:
    _count(ctx, "ajaxop")
    conf_id = to_int(ctx.req.arg("cid"))
    ok = conf_id is not None and ctx.state.offers.answer_confirmation(
        ctx.bot.steam_id, conf_id, ctx.req.arg("ck") or "", ctx.req.arg("op")
    )
    return json_response({"success": bool(ok)})


def confirmation_multi_op(ctx: Ctx) -> Response:
    if ctx.state.config["multiajaxopNeedsOrigin"] and not ctx.req.header("Origin"):
        return Response(b"", 403, "text/html; charset=UTF-8")  # Steam since 2025-02
    return _multi_op(ctx)


@mobile_confirmation(_op_tags)
def _multi_op(ctx: Ctx) -> Response:
    _count(ctx, "multiajaxop")
    cids, nonces = ctx.req.args("cid[]"), ctx.req.args("ck[]")
    if not cids or len(cids) != len(nonces):
        return json_response({"success": False})
    ok = True
    for cid, nonce in zip(cids, nonces):
        conf_id = to_int(cid)
        ok = (conf_id is not None and ctx.state.offers.answer_confirmation(ctx.bot.steam_id, conf_id, nonce, ctx.req.arg("op"))) and ok
    return json_response({"success": ok})
