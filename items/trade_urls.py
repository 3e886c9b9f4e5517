"""Reads of trade URLs: a system's own, and the one a delivery uses.

Every system's URL for a user is its own (`UserTradeUrl`); the operator's
(`users.trade_url`) stands in only for systems that have none. The writes are
`user_set_trade_url` and `user_link_system` in items/services.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from items.models import SteamUser, UserTradeUrl


@dataclass(frozen=True)
class SystemUser:
    """A Steam user as one external system sees it: the shared profile and its own trade URL."""

    user: SteamUser
    trade_url: str | None


def user_get_for_system(*, steam_id: int, external_system: str) -> SystemUser | None:
    """The user, if this system has dealt with them (set a URL, or has an assignment); else None.

    `trade_url` is the system's own or None: never another system's, never the operator's."""
    link = (
        UserTradeUrl.objects.select_related("user")
        .filter(user_id=steam_id, external_system=external_system)
        .first()
    )
    if link is None:
        return None
    return SystemUser(user=link.user, trade_url=link.trade_url or None)


def trade_url_for_delivery(*, steam_id: int, external_system: str) -> str | None:
    """Where an offer of this system's assignment goes: the system's own URL for the
    user, else the operator's; None when there is neither."""
    own = (
        UserTradeUrl.objects.filter(user_id=steam_id, external_system=external_system)
        .values_list("trade_url", flat=True).first()
    )
    if own:
        return own
    return SteamUser.objects.filter(steam_id=steam_id).values_list("trade_url", flat=True).first() or None


def has_own_trade_url(*, user_field: str = "user_id", system_field: str = "external_system") -> Exists:
    """For a queryset of rows naming a user and a system (e.g. assignments): the
    system has a URL of its own for the user."""
    return Exists(
        UserTradeUrl.objects.filter(
            user_id=OuterRef(user_field), external_system=OuterRef(system_field), trade_url__isnull=False
        ).exclude(trade_url="")
    )


def has_delivery_trade_url(*, user_field: str = "user_id", system_field: str = "external_system",
                           user_relation: str = "user") -> Q:
    """The queryset's row has a URL to deliver to: the system's own, or the operator's."""
    operator = Q(**{f"{user_relation}__trade_url__isnull": False}) & ~Q(**{f"{user_relation}__trade_url": ""})
    return Q(has_own_trade_url(user_field=user_field, system_field=system_field)) | operator
