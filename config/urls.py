"""Every route of Astro: each app's urls.py, included by string."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from astro.core.api.errors import api_not_found
from config.health import HealthApi

PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny], "throttle_classes": []}

api_urlpatterns = [
    path("", include("assignments.urls")),
    path("", include("items.urls")),
    path("", include("sync.urls")),
    path("", include("audit.urls")),
    path("health", HealthApi.as_view(), name="api-health"),
    # Public documents: no authentication at all (the API's Api-Key defaults do not apply).
    path("schema/", SpectacularAPIView.as_view(**PUBLIC), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", **PUBLIC), name="api-docs"),
    # Anything else under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    # The console's dashboard comes first, so that admin:index lands on it.
    path("admin/", include("astro.console.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
]

# Requests refused before any view runs (e.g. a Host not in ALLOWED_HOSTS) keep the
# API's error shape under /api/.
handler400 = "astro.core.api.errors.bad_request"
