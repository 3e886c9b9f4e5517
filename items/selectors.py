"""Reads of the item pool and Steam users, for the API and the admin."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT

from astro.core.errors import filterset_valid
from items.models import Item, ItemStatus, SteamUser


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
