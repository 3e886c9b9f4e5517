"""Reads of the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from astro.core.errors import filterset_valid
from audit.models import Category, Severity, SystemEvent


class EventFilter(django_filters.FilterSet):
    eventType = django_filters.CharFilter(field_name="event_type", max_length=64)
    category = django_filters.ChoiceFilter(field_name="event_category", choices=Category.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    assignmentId = django_filters.UUIDFilter(field_name="assignment_id")
    itemId = django_filters.UUIDFilter(field_name="item_id")
    userId = django_filters.NumberFilter(field_name="user_id", min_value=0, max_value=2**63 - 1)
    createdAfter = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = SystemEvent
        fields: list[str] = []


def event_list(*, external_system: str | None = None, filters: dict | None = None) -> QuerySet[SystemEvent]:
    """Events, newest first; with `external_system`, only that system's."""
    queryset = SystemEvent.objects.all()
    if external_system is not None:
        queryset = queryset.filter(external_system=external_system)
    if filters is not None:
        queryset = filterset_valid(EventFilter(filters, queryset=queryset))
    return queryset


def recent_errors(*, now: datetime | None = None, limit: int = 6) -> dict[str, Any]:
    """Error and critical events of the last 24 hours: how many, and the newest few."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    errors = SystemEvent.objects.filter(created_at__gte=since, severity__in=["error", "critical"])
    stats = errors.aggregate(count=Count("id"), newest=Max("created_at"))
    newest = list(errors.order_by("-created_at")[:limit])
    return {"count": stats["count"], "events": newest}
