"""Integration API: create, read, list and cancel assignments."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from assignments.models import AssignmentStatus
from assignments.selectors import AssignmentFilter, assignment_get, assignment_list
from assignments.services import UNAVAILABLE_REASONS, AssignmentNotFound, assignment_cancel, assignment_create
from astro.core.api.errors import error_serializer
from astro.core.api.plumbing import ApiView
from astro.core.api.schema import (
    CURSOR_PARAMETERS, IDEMPOTENCY_KEY_PARAMETER, READ_ERRORS, WRITE_ERRORS, errors, filter_parameters,
)
from astro.core.api.serializers import (
    JsonObjectField, SteamIdField, SteamIdInputField, StrictCharField, StrictInputSerializer, StrictRegexField,
    StrictUUIDField, TradeUrlField, UniqueListField, paginated,
)
from astro.core.api.views import ExternalSystemMismatch, paginate, path_uuid, query_filters
from astro.integrations.idempotency import idempotent


class AssignmentItemOutput(serializers.Serializer):
    itemId = serializers.UUIDField(source="item_id")
    name = serializers.CharField(source="item_name_at_assignment", help_text="The item's name when assigned.")
    value = serializers.DecimalField(
        source="item_value_at_assignment", max_digits=12, decimal_places=2, allow_null=True,
        help_text="The item's market value when assigned.",
    )
    deliveryStatus = serializers.CharField(source="delivery_status")
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)


class AssignmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    userId = SteamIdField(source="user_id")
    assignmentType = serializers.CharField(source="assignment_type")
    reason = serializers.CharField(source="assignment_reason", allow_null=True)
    externalSystem = serializers.CharField(source="external_system")
    externalContext = serializers.JSONField(source="external_context")
    priority = serializers.IntegerField(source="assignment_priority")
    status = serializers.ChoiceField(choices=AssignmentStatus.choices)
    statusReason = serializers.CharField(
        source="status_reason", allow_null=True,
        help_text="Why it waits or failed, a stable code (trade_url_required, escrow, declined, ...).",
    )
    totalItemsCount = serializers.IntegerField(source="total_items_count")
    totalEstimatedValue = serializers.DecimalField(source="total_estimated_value", max_digits=14, decimal_places=2)
    deliveryAttempts = serializers.IntegerField(source="delivery_attempts")
    lastDeliveryAttemptAt = serializers.DateTimeField(source="last_delivery_attempt_at", allow_null=True)
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    lastError = serializers.CharField(source="delivery_error_message", allow_null=True)
    tradeOfferId = serializers.CharField(source="delivery_trade_offer_id", allow_null=True)
    assignedAt = serializers.DateTimeField(source="assigned_at")
    processingStartedAt = serializers.DateTimeField(source="processing_started_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    failedAt = serializers.DateTimeField(source="failed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    items = AssignmentItemOutput(source="assignment_items", many=True)


class AssignmentCreateInput(StrictInputSerializer):
    userId = SteamIdInputField(help_text="The recipient's steamid64, as a string or an integer.")
    itemIds = UniqueListField(
        child=StrictUUIDField(), allow_empty=False, max_items_setting="API_MAX_ITEMS_PER_ASSIGNMENT",
        help_text="Pool item ids; all are reserved or none. At most API_MAX_ITEMS_PER_ASSIGNMENT, no duplicates.",
    )
    assignmentType = StrictRegexField(
        r"^[A-Za-z0-9_.:-]+$", max_length=64, help_text="Your category, e.g. giveaway, purchase, reward."
    )
    externalSystem = StrictCharField(max_length=64, help_text="Must be the API key's own system.")
    externalContext = JsonObjectField(
        required=False, max_bytes_setting="API_MAX_EXTERNAL_CONTEXT_BYTES",
        help_text="Any JSON object of yours (at most API_MAX_EXTERNAL_CONTEXT_BYTES), stored and returned as is.",
    )
    tradeUrl = TradeUrlField(
        required=False, help_text="The user's trade URL, exactly as Steam shows it "
        "(https://steamcommunity.com/tradeoffer/new/?partner=<accountid>&token=<token>), partner being this user's "
        "account id (userId - 76561197960265728); stored as this system's URL for the user.",
    )
    priority = serializers.IntegerField(required=False, min_value=-1000, max_value=1000, help_text="Higher first.")
    reason = StrictCharField(required=False, max_length=2000, allow_blank=True)

    read_only_names = frozenset(AssignmentOutput().fields) - {
        "userId", "assignmentType", "externalSystem", "externalContext", "priority", "reason",
    }


class AssignmentCancelInput(StrictInputSerializer):
    reason = StrictCharField(required=False, max_length=2000, allow_blank=True)


ASSIGNMENT_ID_PATH = OpenApiParameter("assignment_id", OpenApiTypes.UUID, OpenApiParameter.PATH)

CREATE_EXAMPLE = OpenApiExample(
    "Giveaway (ADR-002)",
    request_only=True,
    value={
        "userId": 76561198123456789,
        "itemIds": ["9b2f8f0e-4c1a-4e9b-8a57-3f0f2a6d1c11", "0c3e2b7a-1d4f-4a8e-9b6c-7e5d4c3b2a10"],
        "assignmentType": "giveaway",
        "externalSystem": "sourcemod_giveaway",
        "externalContext": {"giveawayId": "gw_123", "serverName": "Community Server #1"},
    },
)

class UnavailableItemOutput(serializers.Serializer):
    itemId = serializers.UUIDField()
    reason = serializers.ChoiceField(
        choices=UNAVAILABLE_REASONS, help_text="Why the item cannot be assigned. Open: accept values you don't know."
    )


class ItemsUnavailableDetails(serializers.Serializer):
    items = UnavailableItemOutput(many=True, required=False, help_text="Only for `items_unavailable`.")


# The 409 of a create: the API's error shape, with `details.items[].reason` stated as an enum.
ItemsUnavailableError = error_serializer("ItemsUnavailable", ItemsUnavailableDetails)

ITEMS_UNAVAILABLE_409 = (
    "`items_unavailable`: nothing was reserved; `details.items` lists each item that cannot be assigned as "
    "`{itemId, reason}`, `reason` being one of "
    + ", ".join(f"`{reason}`" for reason in UNAVAILABLE_REASONS)
    + " (an item status, `not_tradable`: untradable with no end date, `unknown`: no such item, `contended`: it "
    "changed while it was claimed, so a retry may work). Clients must accept a `reason` they do not know: "
    "new ones may be added. `idempotency_key_in_use`: the first request with this key still runs."
)

ITEMS_UNAVAILABLE_EXAMPLE = OpenApiExample(
    "Items unavailable",
    response_only=True,
    status_codes=["409"],
    value={"error": {
        "code": "items_unavailable",
        "message": "2 item(s) cannot be assigned; nothing was reserved.",
        "details": {"items": [
            {"itemId": "9b2f8f0e-4c1a-4e9b-8a57-3f0f2a6d1c11", "reason": "in_offer"},
            {"itemId": "0c3e2b7a-1d4f-4a8e-9b6c-7e5d4c3b2a10", "reason": "contended"},
        ]},
    }},
)


class AssignmentListCreateApi(ApiView):
    required_scopes = {"GET": "assignments:read", "POST": "assignments:write"}

    @extend_schema(
        operation_id="assignments_list", tags=["assignments"], summary="List this system's assignments",
        parameters=[*filter_parameters(AssignmentFilter), *CURSOR_PARAMETERS],
        responses={200: paginated(AssignmentOutput), **errors(*READ_ERRORS)},
    )
    def get(self, request):
        queryset = assignment_list(external_system=self.client.slug, filters=query_filters(request, AssignmentFilter))
        return paginate(self, queryset, AssignmentOutput)

    @extend_schema(
        operation_id="assignments_create", tags=["assignments"], summary="Assign items to a Steam user",
        description="Reserves every item or none. Send an `Idempotency-Key` to retry safely.",
        parameters=[IDEMPOTENCY_KEY_PARAMETER], request=AssignmentCreateInput,
        responses={
            201: AssignmentOutput,
            **errors(
                *WRITE_ERRORS, 409, 422,
                schemas={409: ItemsUnavailableError}, d409=ITEMS_UNAVAILABLE_409,
            ),
        },
        examples=[CREATE_EXAMPLE, ITEMS_UNAVAILABLE_EXAMPLE],
    )
    @idempotent
    def post(self, request):
        body = AssignmentCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["externalSystem"] != self.client.slug:
            raise ExternalSystemMismatch(
                f"This key belongs to {self.client.slug!r}, not {data['externalSystem']!r}.",
                details={"externalSystem": data["externalSystem"]},
            )
        assignment = assignment_create(
            user_id=data["userId"],
            item_ids=data["itemIds"],
            assignment_type=data["assignmentType"],
            external_system=self.client.slug,
            external_context=data.get("externalContext") or {},
            trade_url=data.get("tradeUrl"),
            priority=data.get("priority", 0),
            reason=data.get("reason") or None,
            actor=self.client.slug,
            source="api",
        )
        return Response(AssignmentOutput(assignment_get(assignment_id=assignment.id)).data, status=201)


class AssignmentDetailApi(ApiView):
    required_scopes = {"GET": "assignments:read"}

    @extend_schema(
        operation_id="assignments_retrieve", tags=["assignments"], summary="One assignment and its delivery",
        parameters=[ASSIGNMENT_ID_PATH], responses={200: AssignmentOutput, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request, assignment_id: str):
        assignment = assignment_get(assignment_id=path_uuid(assignment_id), external_system=self.client.slug)
        if assignment is None:
            raise AssignmentNotFound()
        return Response(AssignmentOutput(assignment).data)


class AssignmentCancelApi(ApiView):
    required_scopes = {"POST": "assignments:write"}

    @extend_schema(
        operation_id="assignments_cancel", tags=["assignments"], summary="Cancel an assignment",
        description="A pending assignment is cancelled at once and its items go back to the pool. A processing "
        "one has its trade offer cancelled on Steam first; if the user accepted meanwhile, Steam wins and this "
        "answers 409 with the assignment's status in `details.status`.",
        parameters=[ASSIGNMENT_ID_PATH], request=AssignmentCancelInput,
        responses={
            200: AssignmentOutput,
            **errors(*WRITE_ERRORS, 404, 409,
                     d409="`assignment_not_cancellable`: it is delivered, failed or already cancelled "
                     "(`details.status`). From the delivery engine: `delivery_in_progress` (a send is running "
                     "this second; retry shortly), `offer_in_escrow`.",
                     d503="`steam_unavailable`: Steam did not answer the cancellation; nothing changed, retry. "
                     "`service_unavailable`, `database_conflict`: a dependency is down or a transient conflict."),
        },
    )
    def post(self, request, assignment_id: str):
        assignment_id = path_uuid(assignment_id)
        body = AssignmentCancelInput(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = assignment_cancel(
            assignment_id=assignment_id, actor=self.client.slug, source="api",
            reason=body.validated_data.get("reason") or None, external_system=self.client.slug,
        )
        return Response(AssignmentOutput(assignment_get(assignment_id=assignment.id)).data)
