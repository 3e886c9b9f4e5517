"""API routes of assignments (mounted at /api/ by config.urls)."""

from django.urls import path

from assignments.api import AssignmentCancelApi, AssignmentDetailApi, AssignmentListCreateApi

urlpatterns = [
    path("assignments", AssignmentListCreateApi.as_view(), name="api-assignments"),
    path("assignments/<str:assignment_id>", AssignmentDetailApi.as_view(), name="api-assignment"),
    path("assignments/<str:assignment_id>/cancel", AssignmentCancelApi.as_view(), name="api-assignment-cancel"),
]
