"""Reads of the item pool and Steam users, for the API, the admin and the console's dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import django_filters
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from astro.core.errors import filterset_valid
from items.models import HELD_BY_BOT, LEFT_BOT, Item, ItemStatus, SteamUser


class ItemFilter(django_filters.FilterSet):
    # distinct=False: no joins here, and DISTINCT would sort every matching row on every column.
    status = django_filters.MultipleChoiceFilter(
        choices=ItemStatus.choices, distinct=False, help_text="One or more statuses (repeat the parameter)."
    )
    appId = django_filters.NumberFilter(field_name="steam_app_id", min_value=1, max_value=2**31 - 1)
    contextId = django_filters.NumberFilter(field_name="steam_context_id", min_value=1, max_value=2**63 - 1)
    marketHashName = django_filters.CharFilter(field_name="market_hash_name", max_length=255, help_text="Exact name.")
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, help_text="Case-insensitive substring of the name or market hash name."
    )
    type = django_filters.CharFilter(field_name="item_type", lookup_expr="iexact", max_length=255)
    rarity = django_filters.CharFilter(field_name="item_rarity", lookup_expr="iexact", max_length=128)
    minValue = django_filters.NumberFilter(field_name="market_value", lookup_expr="gte", min_value=0, max_value=10**10)
    maxValue = django_filters.NumberFilter(field_name="market_value", lookup_expr="lte", min_value=0, max_value=10**10)
    # Not BooleanFilter: it reads `tradable=maybe` as "no filter" instead of an error.
    tradable = django_filters.TypedChoiceFilter(
        field_name="tradable", choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )

    class Meta:
        model = Item
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(item_name__icontains=value) | Q(market_hash_name__icontains=value))


def _for_api() -> QuerySet[Item]:
    # The metadata documents can be kilobytes per item; the API shows only the icon, extracted by PostgreSQL.
    return Item.objects.defer("steam_metadata", "custom_metadata").annotate(icon_url=KT("steam_metadata__icon_url"))


def item_list(*, filters: dict | None = None) -> QuerySet[Item]:
    """Items of the pool matching `filters` (ItemFilter's names); raises InvalidInput for a bad filter value.

    Rows come without `steam_metadata`/`custom_metadata` (deferred) and with `icon_url` annotated.
    """
    queryset = _for_api()
    return filterset_valid(ItemFilter(filters, queryset=queryset)) if filters is not None else queryset


def item_get(*, item_id) -> Item | None:
    return _for_api().filter(id=item_id).first()


def user_get(*, steam_id: int) -> SteamUser | None:
    return SteamUser.objects.filter(steam_id=steam_id).first()


# ------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class PoolOverview:
    by_status: dict[str, dict]  # status -> {"count", "value"}
    by_game: dict[int, dict]  # app id -> {"count", "value", "available"}, items the bot holds, by value
    held_count: int
    held_value: Decimal
    unexpected: int  # available items sync found with no trade to explain them, awaiting a decision
    value_series: list[tuple[date, Decimal]]  # value held at the end of each of the last days


_POOL_SQL = """
    SELECT GROUPING(status, steam_app_id, arrived, departed) AS grouping_set,
           status, steam_app_id, arrived, departed,
           count(*), COALESCE(sum(market_value), 0), count(*) FILTER (WHERE received_via = 'sync')
    FROM (
        SELECT status, steam_app_id, market_value, received_via,
               CASE WHEN COALESCE(received_at, created_at) >= %(start)s
                    THEN (COALESCE(received_at, created_at) AT TIME ZONE %(tz)s)::date END AS arrived,
               CASE WHEN status = ANY(%(left)s) AND COALESCE(delivered_at, updated_at) >= %(start)s
                    THEN (COALESCE(delivered_at, updated_at) AT TIME ZONE %(tz)s)::date END AS departed
        FROM items
    ) i
    GROUP BY GROUPING SETS ((status, steam_app_id), (arrived), (departed))
"""
# GROUPING() bitmask (status, steam_app_id, arrived, departed): which set a row belongs to.
_BY_STATUS_AND_GAME, _BY_ARRIVAL, _BY_DEPARTURE = 0b0011, 0b1101, 0b1110


def pool_overview(*, days: int = 30, now: datetime | None = None) -> PoolOverview:
    """The pool by status and by game, and its value over the last `days` days: one scan of `items`.

    The value history is reconstructed backwards from today's value: an item
    that arrived on day d was not there before d, one that left on day d was
    there until d. Values are today's market values (prices are not kept per
    day). Arrivals and departures are grouped in the same pass as the counts
    (GROUPING SETS), so the dashboard reads the items table once.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    start_at = timezone.make_aware(datetime.combine(today - timedelta(days=days - 1), datetime.min.time()))
    with connection.cursor() as cursor:
        cursor.execute(_POOL_SQL, {"start": start_at, "tz": timezone.get_current_timezone_name(),
                                   "left": [str(s) for s in LEFT_BOT]})
        rows = cursor.fetchall()

    by_status: dict[str, dict] = {s: {"count": 0, "value": Decimal(0)} for s in ItemStatus.values}
    by_game: dict[int, dict] = {}
    inflow: dict[date, Decimal] = {}
    outflow: dict[date, Decimal] = {}
    unexpected = 0
    for grouping_set, status, app_id, arrived, departed, count, value, from_sync in rows:
        if grouping_set == _BY_ARRIVAL:
            if arrived is not None:  # NULL: arrived before the window
                inflow[arrived] = value
        elif grouping_set == _BY_DEPARTURE:
            if departed is not None:
                outflow[departed] = value
        elif grouping_set == _BY_STATUS_AND_GAME:
            entry = by_status.setdefault(status, {"count": 0, "value": Decimal(0)})
            entry["count"] += count
            entry["value"] += value
            if status in HELD_BY_BOT:
                game = by_game.setdefault(app_id, {"count": 0, "value": Decimal(0), "available": 0})
                game["count"] += count
                game["value"] += value
                if status == ItemStatus.AVAILABLE:
                    game["available"] += count
                    unexpected += from_sync
    held_value = sum((by_status[s]["value"] for s in HELD_BY_BOT), Decimal(0))

    series = []
    held = held_value
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append((day, max(held, Decimal(0))))
        # End of the previous day = end of this day, minus what arrived during it, plus what left.
        held = held - inflow.get(day, 0) + outflow.get(day, 0)
    series.reverse()
    return PoolOverview(
        by_status=by_status,
        by_game=dict(sorted(by_game.items(), key=lambda kv: -kv[1]["value"])),
        held_count=sum(by_status[s]["count"] for s in HELD_BY_BOT),
        held_value=held_value,
        unexpected=unexpected,
        value_series=series,
    )
