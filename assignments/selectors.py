"""Reads of assignments, for the API, the admin and the console's dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from astro.core.errors import filterset_valid
from assignments.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, AssignmentItem, AssignmentStatus


class AssignmentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AssignmentStatus.choices, distinct=False)
    userId = django_filters.NumberFilter(field_name="user_id", min_value=0, max_value=2**63 - 1)
    assignmentType = django_filters.CharFilter(field_name="assignment_type", max_length=64)
    createdAfter = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Assignment
        fields: list[str] = []


def _with_items(queryset: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return queryset.prefetch_related(
        Prefetch("assignment_items", queryset=AssignmentItem.objects.order_by("created_at", "item_id"))
    )


def assignment_list(*, external_system: str, filters: dict | None = None) -> QuerySet[Assignment]:
    """One system's assignments (never another's), filtered by AssignmentFilter's names."""
    queryset = Assignment.objects.filter(external_system=external_system)
    if filters is not None:
        queryset = filterset_valid(AssignmentFilter(filters, queryset=queryset))
    return _with_items(queryset)


def assignment_get(*, assignment_id, external_system: str | None = None) -> Assignment | None:
    """An assignment with its items; with `external_system`, None for another system's."""
    queryset = Assignment.objects.filter(id=assignment_id)
    if external_system is not None:
        queryset = queryset.filter(external_system=external_system)
    return _with_items(queryset).first()


def delivery_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """Deliveries in flight (by status and reason) and how the last 24 hours went (two queries)."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    in_flight = list(
        Assignment.objects.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .values("status", "status_reason")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by("status", "status_reason")
    )
    last_day = Assignment.objects.filter(
        Q(status=AssignmentStatus.FAILED, failed_at__gte=since)
        | Q(status=AssignmentStatus.DELIVERED, delivered_at__gte=since)
    ).aggregate(
        failed=Count("id", filter=Q(status=AssignmentStatus.FAILED)),
        delivered=Count("id", filter=Q(status=AssignmentStatus.DELIVERED)),
    )
    pending = sum(r["count"] for r in in_flight if r["status"] == AssignmentStatus.PENDING)
    processing = sum(r["count"] for r in in_flight if r["status"] == AssignmentStatus.PROCESSING)
    oldest = min((r["oldest"] for r in in_flight), default=None)
    return {
        "in_flight": in_flight,
        "pending": pending,
        "processing": processing,
        "total": pending + processing,
        "oldest_age": (now - oldest) if oldest else None,
        "failed_24h": last_day["failed"],
        "delivered_24h": last_day["delivered"],
    }
