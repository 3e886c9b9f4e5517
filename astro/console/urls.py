"""The console's pages, mounted at /admin/ by config.urls before the admin's own."""

from django.contrib import admin
from django.urls import path

from astro.console import dashboard

urlpatterns = [
    # The admin index ("/admin/", admin:index) is the operator dashboard.
    path("", admin.site.admin_view(dashboard.index), name="astro_dashboard"),
]
