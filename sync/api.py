"""Integration API: inventory sync runs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from astro.core.api.plumbing import ApiView
from astro.core.api.schema import CURSOR_PARAMETERS, READ_ERRORS, WRITE_ERRORS, errors
from astro.core.api.serializers import StrictInputSerializer, paginated
from astro.core.api.views import paginate
from sync.models import InventorySyncLog, SyncStatus, SyncTrigger
from sync.services import sync_request


class SyncRunOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(source="sync_status", choices=SyncStatus.choices)
    trigger = serializers.ChoiceField(choices=SyncTrigger.choices)
    startedAt = serializers.DateTimeField(source="sync_started_at")
    completedAt = serializers.DateTimeField(source="sync_completed_at", allow_null=True)
    durationMs = serializers.IntegerField(source="sync_duration_ms", allow_null=True)
    steamInventoryCount = serializers.IntegerField(source="steam_inventory_count", allow_null=True)
    databaseAvailableCount = serializers.IntegerField(source="database_available_count", allow_null=True)
    databaseAssignedCount = serializers.IntegerField(source="database_assigned_count", allow_null=True)
    databaseDeliveredCount = serializers.IntegerField(source="database_delivered_count", allow_null=True)
    databaseTotalCount = serializers.IntegerField(source="database_total_count", allow_null=True)
    itemsAddedCount = serializers.IntegerField(source="items_added_count")
    itemsRemovedCount = serializers.IntegerField(source="items_removed_count")
    itemsUpdatedCount = serializers.IntegerField(source="items_updated_count")
    discrepanciesFound = serializers.IntegerField(source="discrepancies_found")
    errorMessage = serializers.CharField(source="error_message", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class SyncRequestInput(StrictInputSerializer):
    pass


class SyncRunsApi(ApiView):
    required_scopes = {"GET": "items:read", "POST": "sync:trigger"}

    @extend_schema(
        operation_id="sync_runs_list", tags=["sync"], summary="Inventory sync runs, newest first",
        parameters=CURSOR_PARAMETERS, responses={200: paginated(SyncRunOutput), **errors(*READ_ERRORS)},
    )
    def get(self, request):
        return paginate(self, InventorySyncLog.objects.all(), SyncRunOutput)

    @extend_schema(
        operation_id="sync_runs_create", tags=["sync"], summary="Request an inventory sync",
        description="Queues a full reconciliation of the bot inventory and returns its `queued` run; poll "
        "GET /api/sync/runs for the outcome. When a sync already waits to start, the request joins it: the "
        "answer is that waiting run, and nothing new is recorded.",
        request=None,
        responses={202: SyncRunOutput, **errors(*WRITE_ERRORS)},
    )
    def post(self, request):
        SyncRequestInput(data=request.data).is_valid(raise_exception=True)
        run = sync_request(trigger=SyncTrigger.API, actor=self.client.slug)
        return Response(SyncRunOutput(run).data, status=202)
