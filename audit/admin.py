from django.contrib import admin

from astro.admin_mixins import ReadOnlyAdmin
from audit.models import SystemEvent


@admin.register(SystemEvent)
class SystemEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event_type", "severity", "event_description", "actor", "source", "external_system")
    list_filter = ("severity", "event_category", "source", "event_type")
    search_fields = ("event_type", "event_description", "actor", "external_system", "=item__id", "=assignment__id", "=user__steam_id")
    list_select_related = ()
    # A million rows: never COUNT(*) the whole table for the paginator's total.
    show_full_result_count = False
    raw_id_fields = ("user", "item", "assignment")
