from django.contrib import admin
from django.utils.html import format_html_join

from assignments.models import Assignment


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "assignment_type", "external_system", "status", "status_reason", "total_items_count", "total_estimated_value", "created_at")
    list_filter = ("status", "assignment_type", "external_system", "status_reason")
    search_fields = ("=id", "=user__steam_id", "user__display_name", "external_system", "delivery_trade_offer_id")
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = [field.name for field in Assignment._meta.fields] + ["items_table"]

    # assignment_items has a composite primary key, which the Django 5.2 admin cannot
    # register; its rows are shown here, inside their assignment.
    @admin.display(description="items")
    def items_table(self, obj):
        rows = obj.assignment_items.select_related("item").order_by("item_name_at_assignment")
        return format_html_join(
            "\n", "<div>{} — {} — {} ({})</div>",
            ((row.item_name_at_assignment, row.item_value_at_assignment, row.delivery_status, row.item.status) for row in rows),
        )

    def has_add_permission(self, request):
        return False  # assignments come from external systems through the API

    def has_delete_permission(self, request, obj=None):
        return False
