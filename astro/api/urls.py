"""Routes of the integration API, mounted at /api/ (no trailing slashes on resources)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assignments.api import AssignmentCancelApi, AssignmentDetailApi, AssignmentListCreateApi
from astro.api.errors import api_not_found
from astro.api.health import HealthApi
from audit.api import EventListApi
from items.api import ItemDetailApi, ItemListApi, UserApi
from sync.api import SyncRunsApi

urlpatterns = [
    path("assignments", AssignmentListCreateApi.as_view(), name="api-assignments"),
    path("assignments/<str:assignment_id>", AssignmentDetailApi.as_view(), name="api-assignment"),
    path("assignments/<str:assignment_id>/cancel", AssignmentCancelApi.as_view(), name="api-assignment-cancel"),
    path("items", ItemListApi.as_view(), name="api-items"),
    path("items/<str:item_id>", ItemDetailApi.as_view(), name="api-item"),
    path("users/<str:steam_id>", UserApi.as_view(), name="api-user"),
    path("sync/runs", SyncRunsApi.as_view(), name="api-sync-runs"),
    path("events", EventListApi.as_view(), name="api-events"),
    path("health", HealthApi.as_view(), name="api-health"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", api_not_found),
]
