"""Integration API: a system's own audit events."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from astro.core.api.plumbing import ApiView
from astro.core.api.schema import CURSOR_PARAMETERS, READ_ERRORS, errors, filter_parameters
from astro.core.api.serializers import SteamIdField, paginated
from astro.core.api.views import paginate, query_filters
from audit.selectors import EventFilter, event_list


class EventOutput(serializers.Serializer):
    id = serializers.UUIDField()
    eventType = serializers.CharField(source="event_type")
    category = serializers.CharField(source="event_category")
    description = serializers.CharField(source="event_description")
    severity = serializers.CharField()
    source = serializers.CharField()
    actor = serializers.CharField()
    userId = SteamIdField(source="user_id", allow_null=True)
    itemId = serializers.UUIDField(source="item_id", allow_null=True)
    assignmentId = serializers.UUIDField(source="assignment_id", allow_null=True)
    externalSystem = serializers.CharField(source="external_system", allow_null=True)
    data = serializers.JSONField(source="event_data")
    createdAt = serializers.DateTimeField(source="created_at")


class EventListApi(ApiView):
    required_scopes = {"GET": "events:read"}

    @extend_schema(
        operation_id="events_list", tags=["events"], summary="This system's audit events, newest first",
        description="Events about this system's assignments, their items and users (assignment.created, "
        "item.reserved, delivery.*, assignment.cancelled, ...). Events of other systems are never shown.",
        parameters=[*filter_parameters(EventFilter), *CURSOR_PARAMETERS],
        responses={200: paginated(EventOutput), **errors(*READ_ERRORS)},
    )
    def get(self, request):
        events = event_list(external_system=self.client.slug, filters=query_filters(request, EventFilter))
        return paginate(self, events, EventOutput)
