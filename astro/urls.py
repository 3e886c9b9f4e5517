from django.contrib import admin
from django.urls import include, path

from astro import dashboard

urlpatterns = [
    # The admin index is the operator dashboard (astro/dashboard.py); it comes first
    # so that admin:index ("/admin/") lands on it, everything else is the admin's.
    path("admin/", admin.site.admin_view(dashboard.index), name="astro_dashboard"),
    path("admin/", admin.site.urls),
    path("api/", include("astro.api.urls")),
]

# Requests refused before any view runs (e.g. a Host not in ALLOWED_HOSTS) keep the
# API's error shape under /api/.
handler400 = "astro.api.errors.bad_request"
