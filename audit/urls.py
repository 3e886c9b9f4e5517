"""API routes of the audit trail (mounted at /api/ by config.urls)."""

from django.urls import path

from audit.api import EventListApi

urlpatterns = [
    path("events", EventListApi.as_view(), name="api-events"),
]
