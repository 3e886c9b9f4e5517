from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is looked at, never edited: no add, change or delete, for anyone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
