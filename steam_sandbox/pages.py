"""The few HTML pages steampy reads (it scrapes them with substring searches and
BeautifulSoup, so only the fragments it looks for need to be exact)."""

from __future__ import annotations

from html import escape


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html class=\"responsive\" lang=\"en\">\n<head>\n"
        f"<meta charset=\"utf-8\">\n<title>{escape(title)}</title>\n</head>\n"
        f"<body class=\"flat_page\">\n{body}\n</body>\n</html>\n"
    )


def community_home(*, sessionid: str, steamid: int | None, persona: str = "", username: str = "") -> str:
    """steamcommunity.com/: `g_steamID = "…";` when logged in (steampy get_steam_id), and the
    login name somewhere in the page (steampy is_session_alive); `g_steamID = false;` and
    the Sign In title when not."""
    if steamid is None:
        return page(
            "Sign In",
            "<script type=\"text/javascript\">\n"
            f"\tg_sessionID = \"{sessionid}\";\n\tg_steamID = false;\n</script>\n"
            "<div class=\"responsive_page_content\"><a class=\"global_action_link\" "
            "href=\"https://steamcommunity.com/login/home/?goto=\">login</a></div>",
        )
    return page(
        "Steam Community",
        "<script type=\"text/javascript\">\n"
        f"\tg_sessionID = \"{sessionid}\";\n\tg_steamID = \"{steamid}\";\n</script>\n"
        "<div id=\"global_actions\">\n"
        f"\t<a class=\"user_avatar playerAvatar online\" href=\"https://steamcommunity.com/profiles/{steamid}/\"></a>\n"
        f"\t<span class=\"persona online\">{escape(persona)}</span>\n"
        f"\t<div class=\"account_name\">{escape(username)}</div>\n"
        "</div>",
    )


def plain_home(host: str) -> str:
    return page(host, f"<div class=\"page_content\">{escape(host)}</div>")


def error_page(*, sessionid: str, steamid: int | None, message: str) -> str:
    steam = f"\"{steamid}\"" if steamid else "false"
    return page(
        "Steam Community :: Error",
        "<script type=\"text/javascript\">\n"
        f"\tg_sessionID = \"{sessionid}\";\n\tg_steamID = {steam};\n</script>\n"
        "<div id=\"mainContents\"><h2>Trade offer</h2>\n"
        f"<div id=\"error_msg\">\n\t\t\t\t{escape(message)}\t\t\t</div>\n</div>",
    )


def trade_offer_page(
    *,
    sessionid: str,
    steamid: int,
    my_persona: str,
    partner: int,
    partner_persona: str,
    my_escrow_days: int,
    their_escrow_days: int,
) -> str:
    """tradeoffer/new/?partner=&token= and tradeoffer/{id}/ (the fragments of section 9)."""
    return page(
        "Steam Community :: Trade Offer",
        "<div class=\"pagecontent\" id=\"mainContent\">\n"
        "\t<script>\n"
        "\t// The number of days the trade will be placed on hold if the corresponding party is sending items in the trade.\n"
        "\t// We round up, thus even a single second of escrow will be shown to the user.\n"
        f"\tvar g_daysMyEscrow = {my_escrow_days};\n"
        f"\tvar g_daysTheirEscrow = {their_escrow_days};\n"
        f"\tvar g_daysBothEscrow = {max(my_escrow_days, their_escrow_days)};\n"
        "</script>\n"
        "<script type=\"text/javascript\">\n"
        f"\tg_sessionID = \"{sessionid}\";\n\tg_steamID = \"{steamid}\";\n"
        "</script>\n"
        "<script type=\"text/javascript\">\n"
        f"var g_ulTradePartnerSteamID = '{partner}';\n"
        "var g_bTradePartnerProbation = false;\n"
        f"var g_sessionID = \"{sessionid}\";\n"
        f"UserYou.SetSteamId( '{steamid}' );\n"
        f"var g_strYourPersonaName = \"{escape(my_persona)}\";\n"
        f"UserThem.SetSteamId( '{partner}' );\n"
        f"var g_strTradePartnerPersonaName = \"{escape(partner_persona)}\";\n"
        "</script>\n</div>",
    )


def confirmation_details(*, offer_id: int, partner_persona: str, give: list[str], receive: list[str]) -> str:
    """The `html` of mobileconf/details/{id}: steampy takes the first `.tradeoffer`
    element's id, `tradeofferid_<offer id>`."""
    def items(names):
        return "".join(f"<div class=\"trade_item\">{escape(n)}</div>" for n in names) or "<div class=\"trade_item\">nothing</div>"

    return (
        "<div class=\"mobileconf_trade_area\">\n"
        f"\t<div class=\"tradeoffer\" id=\"tradeofferid_{offer_id}\">\n"
        f"\t\t<div class=\"tradeoffer_partner\">{escape(partner_persona)}</div>\n"
        f"\t\t<div class=\"tradeoffer_items primary\">{items(give)}</div>\n"
        f"\t\t<div class=\"tradeoffer_items secondary\">{items(receive)}</div>\n"
        "\t</div>\n</div>"
    )


def market_page(*, sessionid: str, steamid: int | None, wallet_json: str) -> str:
    steam = f"\"{steamid}\"" if steamid else "false"
    return page(
        "Steam Community Market",
        "<script type=\"text/javascript\">\n"
        f"\tg_sessionID = \"{sessionid}\";\n\tg_steamID = {steam};\n"
        f"\tvar g_rgWalletInfo = {wallet_json};\n"
        "</script>",
    )
