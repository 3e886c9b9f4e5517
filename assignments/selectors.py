"""Reads of assignments, for the API and the admin."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet

from astro.core.errors import filterset_valid
from assignments.models import Assignment, AssignmentItem, AssignmentStatus


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
