"""API routes of inventory sync (mounted at /api/ by config.urls)."""

from django.urls import path

from sync.api import SyncRunsApi

urlpatterns = [
    path("sync/runs", SyncRunsApi.as_view(), name="api-sync-runs"),
]
