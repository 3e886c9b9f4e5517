from django.contrib import admin

from astro.admin_mixins import ReadOnlyAdmin
from sync.models import InventorySyncLog


@admin.register(InventorySyncLog)
class InventorySyncLogAdmin(ReadOnlyAdmin):
    list_display = (
        "sync_started_at", "sync_status", "trigger", "steam_inventory_count", "items_added_count",
        "items_removed_count", "items_updated_count", "discrepancies_found", "sync_duration_ms",
    )
    list_filter = ("sync_status", "trigger")
    search_fields = ("error_message", "resolved_by")
