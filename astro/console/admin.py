"""The admin site as the operator console: its names (the models are registered by their apps)."""

from django.contrib import admin

admin.site.site_header = "Astro operator console"
admin.site.site_title = "Astro"
admin.site.index_title = "Dashboard"
admin.site.site_url = None  # no public site: hide "View site"
