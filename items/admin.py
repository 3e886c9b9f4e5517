from django.contrib import admin

from items.models import Item, SteamUser


@admin.register(SteamUser)
class SteamUserAdmin(admin.ModelAdmin):
    list_display = ("steam_id", "display_name", "country_code", "has_trade_url", "last_seen_at")
    search_fields = ("=steam_id", "display_name")
    readonly_fields = ("first_seen_at", "last_seen_at", "created_at", "updated_at", "profile_refreshed_at")

    @admin.display(boolean=True, description="trade URL")
    def has_trade_url(self, obj):
        return bool(obj.trade_url)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("item_name", "market_hash_name", "status", "steam_app_id", "steam_context_id", "market_value", "tradable", "assigned_to_user")
    list_filter = ("status", "steam_app_id", "steam_context_id", "tradable", "received_via", "item_rarity")
    search_fields = ("item_name", "market_hash_name", "=steam_asset_id")
    list_select_related = ("assigned_to_user",)
    raw_id_fields = ("received_from_user", "assigned_to_user")
    show_full_result_count = False
    readonly_fields = [field.name for field in Item._meta.fields]

    def has_add_permission(self, request):
        return False  # items enter the pool through sync, never by hand

    def has_delete_permission(self, request, obj=None):
        return False
