"""Item pool and Steam users in the operator console.

Items are never edited by hand: they change through sync, delivery and the
operator overrides in `items.overrides`, offered here as buttons and list
actions that ask for a reason and record it in the audit trail.

Apps above items add to the item page what only they know (`item_page_extend`):
assignments/admin.py adds an item's assignment history and the overrides that
depend on its assignment (confirm removed, restore after a Steam check, release
from its assignment).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from astro.core.admin import (
    FastChangeListMixin,
    Operation,
    OperationsAdminMixin,
    ReadOnlyAdmin,
    section,
    status_pill,
)
from astro.core.formatting import game_name, money
from audit.models import SystemEvent
from items import overrides
from items.models import CLAIMED, Item, ItemStatus, ReceivedVia, SteamUser, UserTradeUrl

HISTORY_ROWS = 50
OVERRIDES = "items.run_overrides"


# -------------------------------------------------------------------- filters


class GameFilter(admin.SimpleListFilter):
    """Games from STEAM_INVENTORIES: the choices cost no query (a DISTINCT would scan the table)."""

    title = "game"
    parameter_name = "steam_app_id"

    def lookups(self, request, model_admin):
        return [(str(app), game_name(app)) for app in sorted({app for app, _ in settings.STEAM_INVENTORIES})]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            return queryset.filter(steam_app_id=int(self.value()))
        except ValueError:
            return queryset.none()


class ContextFilter(admin.SimpleListFilter):
    title = "inventory context"
    parameter_name = "steam_context_id"

    def lookups(self, request, model_admin):
        return [
            (f"{app}/{context}", f"{game_name(app)} · {context}" + (" (trade protected)" if context == 16 else ""))
            for app, context in settings.STEAM_INVENTORIES
        ]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            app, context = (int(part) for part in self.value().split("/"))
        except ValueError:
            return queryset.none()
        return queryset.filter(steam_app_id=app, steam_context_id=context)


class ValueFilter(admin.SimpleListFilter):
    title = "market value"
    parameter_name = "value"
    BANDS = {
        "none": ("no price yet", Q(market_value__isnull=True)),
        "lt1": ("under 1", Q(market_value__lt=1)),
        "1to10": ("1 – 10", Q(market_value__gte=1, market_value__lt=10)),
        "10to100": ("10 – 100", Q(market_value__gte=10, market_value__lt=100)),
        "gte100": ("100 and more", Q(market_value__gte=100)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        return queryset.filter(band[1]) if band else queryset


class DecisionFilter(admin.SimpleListFilter):
    """What an operator has to decide about: the dashboard's "needs attention" lists."""

    title = "needs a decision"
    parameter_name = "decision"

    def lookups(self, request, model_admin):
        return [("missing", "Missing"), ("unexpected", "Unexpected (found by sync)"), ("quarantined", "Quarantined")]

    def queryset(self, request, queryset):
        return {
            "missing": lambda: queryset.filter(status=ItemStatus.MISSING),
            "unexpected": lambda: queryset.filter(status=ItemStatus.AVAILABLE, received_via=ReceivedVia.SYNC),
            "quarantined": lambda: queryset.filter(status=ItemStatus.QUARANTINED),
        }.get(self.value() or "", lambda: queryset)()


# ----------------------------------------------------------------- operations


def _accept(item, *, actor, reason):
    item = overrides.item_accept(item_id=item.id, actor=actor, reason=reason)
    return f"{item.item_name} accepted into the pool."


def _quarantine(item, *, actor, reason):
    item = overrides.item_quarantine(item_id=item.id, actor=actor, reason=reason)
    return f"{item.item_name} quarantined: it cannot be assigned until accepted."


ITEM_OPERATIONS = (
    Operation(
        name="accept", label="Accept into the pool", permission=OVERRIDES, run=_accept,
        applies=lambda item: item.status == ItemStatus.QUARANTINED
        or (item.status == ItemStatus.AVAILABLE and item.received_via == ReceivedVia.SYNC),
        explanation="An unexpected item (found by sync, with no trade to explain it) or a quarantined item "
                    "joins the pool: it can be assigned.",
    ),
    Operation(
        name="quarantine", label="Quarantine", permission=OVERRIDES, run=_quarantine, danger=True,
        applies=lambda item: item.status == ItemStatus.AVAILABLE,
        explanation="The item leaves the pool: it stays in the bot's inventory but cannot be assigned until an "
                    "operator accepts it. Only available items.",
    ),
)


# ---------------------------------------------------------- page extensions

# Added by apps above items, from their own admin module: items never imports them.
_extra_operations: list[Operation] = []
_extra_sections: list[Callable[[HttpRequest, Item], list[dict]]] = []


def item_page_extend(
    *,
    operations: Iterable[Operation] = (),
    sections: Iterable[Callable[[HttpRequest, Item], list[dict]]] = (),
) -> None:
    """Add operations and object-page sections to the item admin.

    Operations are offered (buttons, list actions) before the item's own ones;
    each `sections(request, item)` returns `section()`s shown before the item's
    event history. Call it once, when your admin module is imported. An
    operation name already taken is refused: an operation's URL is its name.
    """
    operations = tuple(operations)
    taken = {operation.name for operation in (*_extra_operations, *ITEM_OPERATIONS)}
    for operation in operations:
        if operation.name in taken:
            raise ImproperlyConfigured(f"the item admin already has an operation named {operation.name!r}")
        taken.add(operation.name)
    _extra_operations.extend(operations)
    _extra_sections.extend(sections)


# ---------------------------------------------------------------------- admin


@admin.register(Item)
class ItemAdmin(OperationsAdminMixin, FastChangeListMixin, ReadOnlyAdmin):
    list_display = (
        "item_name", "status_pill", "game", "value", "tradable", "assigned_to_user", "received_via", "updated_at",
    )
    list_display_links = ("item_name",)
    list_filter = (
        DecisionFilter, "status", GameFilter, ContextFilter, ValueFilter, "tradable", "received_via",
    )
    search_fields = ("item_name", "market_hash_name")
    search_help_text = "Name or market hash name; an item id, or a Steam asset id, finds that item."
    list_select_related = ("assigned_to_user",)
    # Index-backed (items_market_hash_name): the first page of 100,000 rows is read, not sorted.
    ordering = ("market_hash_name",)
    fieldsets = (
        (None, {"fields": ("item_name", "market_hash_name", "status", "market_value", "market_value_updated_at",
                           "item_type", "item_rarity")}),
        ("Steam", {"fields": ("steam_app_id", "steam_context_id", "steam_asset_id", "steam_class_id",
                              "steam_instance_id", "tradable", "tradable_after")}),
        ("Where it came from", {"fields": ("received_via", "received_at", "received_from_user")}),
        ("Assignment", {"fields": ("assigned_to_user", "assigned_at", "delivered_at", "delivery_trade_offer_id")}),
        ("Metadata", {"classes": ("collapse",), "fields": ("steam_metadata", "custom_metadata")}),
        ("Record", {"classes": ("collapse",), "fields": ("id", "created_at", "updated_at")}),
    )

    @property
    def operations(self) -> tuple[Operation, ...]:
        return (*_extra_operations, *ITEM_OPERATIONS)

    @admin.display(description="status", ordering="status")
    def status_pill(self, obj):
        return status_pill(obj.status, obj.get_status_display())

    @admin.display(description="game", ordering="steam_app_id")
    def game(self, obj):
        return game_name(obj.steam_app_id)

    @admin.display(description="value", ordering="market_value")
    def value(self, obj):
        return money(obj.market_value) if obj.market_value is not None else "—"

    def get_object_notice(self, request, obj):
        if obj.status == ItemStatus.MISSING:
            return {"level": "warn", "text": "Missing: Steam no longer shows this item and no trade explains why. "
                    "If it is still in the bot's inventory, use “Check Steam and restore”; if it is gone for good, "
                    "“Confirm removed”."}
        if obj.status == ItemStatus.AVAILABLE and obj.received_via == ReceivedVia.SYNC:
            return {"level": "warn", "text": "Unexpected: this item appeared in the bot's inventory with no trade to "
                    "explain it. It can be assigned as it is; “Accept into the pool” records that you checked it, "
                    "“Quarantine” keeps it out of the pool."}
        if obj.status == ItemStatus.QUARANTINED:
            return {"level": "warn", "text": "Quarantined: in the bot's inventory but out of the pool until an "
                    "operator accepts it."}
        if obj.status == ItemStatus.REMOVED:
            return {"level": "info", "text": "Removed: it left the inventory for a known reason. If Steam shows it "
                    "again, the next sync (or “Check Steam and restore”) brings it back."}
        if obj.status in CLAIMED:
            return {"level": "info", "text": "Held by an assignment (below). If Steam no longer shows it, the sync "
                    "log reports it as a discrepancy: release it from its assignment so the rest can be delivered."}
        return None

    def get_search_results(self, request, queryset, search_term):
        # Ids are looked up exactly (an index hit), names with ILIKE.
        term = search_term.strip()
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            pass
        if term.isdigit():
            return queryset.filter(steam_asset_id=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    def get_object_sections(self, request, obj):
        events = list(SystemEvent.objects.filter(item_id=obj.id).order_by("-created_at")[: HISTORY_ROWS + 1])
        return [
            *(found for extra in _extra_sections for found in extra(request, obj)),
            section("events", "Event history", "admin/core/sections/events.html", {
                "events": events[:HISTORY_ROWS],
                "more_url": reverse("admin:audit_systemevent_changelist") + f"?item={obj.id}"
                if len(events) > HISTORY_ROWS else None,
            }),
        ]


TRADE_URL_TOKEN_PERMISSION = "items.view_trade_url_token"


def mask_trade_url(url: str | None) -> str:
    """The URL with its token hidden but for its first two characters (enough to tell two apart)."""
    if not url:
        return "—"
    base, sep, token = url.partition("&token=")
    return f"{base}{sep}{token[:2]}{'•' * max(len(token) - 2, 0)}" if sep else url


@admin.register(SteamUser)
class SteamUserAdmin(FastChangeListMixin, ReadOnlyAdmin):
    """Read-only: users are created by the API and sync, trade URLs set through the API."""

    list_display = ("steam_id", "display_name", "country_code", "has_trade_url", "last_seen_at")
    search_fields = ("=steam_id", "display_name")
    ordering = ("-last_seen_at",)

    @admin.display(boolean=True, description="trade URL")
    def has_trade_url(self, obj):
        return bool(obj.trade_url)

    URL_FIELDS = ("trade_url", "trade_url_masked", "system_trade_urls", "system_trade_urls_masked")

    def get_fields(self, request, obj=None):
        # A token lets anyone send the user offers: shown in full only to those allowed
        # (operators), masked for viewers. `trade_url` is the operator's own URL; each
        # system's URL is its own (user_trade_urls).
        fields = [f for f in super().get_fields(request, obj) if f not in self.URL_FIELDS]
        if request.user.has_perm(TRADE_URL_TOKEN_PERMISSION):
            return [*fields, "trade_url", "system_trade_urls"]
        return [*fields, "trade_url_masked", "system_trade_urls_masked"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.URL_FIELDS[1:]]

    @admin.display(description="operator's trade URL")
    def trade_url_masked(self, obj):
        return mask_trade_url(obj.trade_url)

    @admin.display(description="systems' trade URLs")
    def system_trade_urls(self, obj):
        return self._system_urls(obj, mask=False)

    @admin.display(description="systems' trade URLs")
    def system_trade_urls_masked(self, obj):
        return self._system_urls(obj, mask=True)

    @staticmethod
    def _system_urls(obj, *, mask: bool):
        rows = UserTradeUrl.objects.filter(user=obj).order_by("external_system").values_list("external_system", "trade_url")
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"), "{}: {}", ((system, mask_trade_url(url) if mask else (url or "—")) for system, url in rows)
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(steam_id=int(term)), False
        return queryset.filter(display_name__icontains=term) if term else queryset, False

