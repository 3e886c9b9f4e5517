"""Integration API: the item pool and Steam users."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from astro.core.api.plumbing import ApiView
from astro.core.api.schema import CURSOR_PARAMETERS, READ_ERRORS, WRITE_ERRORS, errors, filter_parameters
from astro.core.api.serializers import SteamIdField, StrictInputSerializer, TradeUrlField, paginated
from astro.core.api.views import paginate, path_steam_id, path_uuid, query_filters
from astro.core.errors import NotFound
from astro.core.steamids import STEAM_ID64_EXACT_PATTERN
from items.selectors import ItemFilter, item_get, item_list
from items.services import user_set_trade_url
from items.trade_urls import user_get_for_system


STEAM_IMAGE_BASE = "https://community.akamai.steamstatic.com/economy/image/"


@extend_schema_field({"type": "string", "format": "uri", "nullable": True})
class SteamIconField(serializers.Field):
    """Steam's icon hash as the image URL Steam serves it from."""

    def to_representation(self, value):
        return f"{STEAM_IMAGE_BASE}{value}" if value else None


class ItemOutput(serializers.Serializer):
    id = serializers.UUIDField()
    appId = serializers.IntegerField(source="steam_app_id")
    contextId = serializers.CharField(source="steam_context_id", help_text="Steam context id (a 64-bit number).")
    assetId = serializers.CharField(source="steam_asset_id", help_text="Steam asset id (a 64-bit number).")
    classId = serializers.CharField(source="steam_class_id")
    instanceId = serializers.CharField(source="steam_instance_id")
    marketHashName = serializers.CharField(source="market_hash_name")
    name = serializers.CharField(source="item_name")
    type = serializers.CharField(source="item_type", allow_null=True)
    rarity = serializers.CharField(source="item_rarity", allow_null=True)
    iconUrl = SteamIconField(source="icon_url", read_only=True)
    marketValue = serializers.DecimalField(source="market_value", max_digits=12, decimal_places=2, allow_null=True)
    status = serializers.CharField()
    tradable = serializers.BooleanField()
    tradableAfter = serializers.DateTimeField(source="tradable_after", allow_null=True)
    receivedAt = serializers.DateTimeField(source="received_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class ItemListApi(ApiView):
    required_scopes = {"GET": "items:read"}

    @extend_schema(
        operation_id="items_list", tags=["items"], summary="List pool items",
        parameters=[*filter_parameters(ItemFilter), *CURSOR_PARAMETERS],
        responses={200: paginated(ItemOutput), **errors(*READ_ERRORS)},
    )
    def get(self, request):
        return paginate(self, item_list(filters=query_filters(request, ItemFilter)), ItemOutput)


class ItemDetailApi(ApiView):
    required_scopes = {"GET": "items:read"}

    @extend_schema(
        operation_id="items_retrieve", tags=["items"], summary="One pool item",
        parameters=[OpenApiParameter("item_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: ItemOutput, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request, item_id: str):
        item = item_get(item_id=path_uuid(item_id, name="itemId"))
        if item is None:
            raise NotFound("No such item.")
        return Response(ItemOutput(item).data)


class UserOutput(serializers.Serializer):
    steamId = SteamIdField(source="steam_id")
    displayName = serializers.CharField(source="display_name", allow_null=True)
    avatarUrl = serializers.CharField(source="avatar_url", allow_null=True)
    profileUrl = serializers.CharField(source="profile_url", allow_null=True)
    countryCode = serializers.CharField(source="country_code", allow_null=True)
    accountCreatedAt = serializers.DateTimeField(source="account_created_at", allow_null=True)
    tradeUrl = serializers.SerializerMethodField(
        help_text="The trade URL this system set for the user (null if none); never another system's."
    )
    firstSeenAt = serializers.DateTimeField(source="first_seen_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at")
    profileRefreshedAt = serializers.DateTimeField(source="profile_refreshed_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema_field({"type": "string", "nullable": True})
    def get_tradeUrl(self, user) -> str | None:
        # The caller's own URL, handed in by the view (users.trade_url is the operator's).
        return self.context.get("trade_url")


class UserUpdateInput(StrictInputSerializer):
    tradeUrl = TradeUrlField()
    read_only_names = frozenset(UserOutput().fields) - {"tradeUrl"}


STEAM_ID_PATH = OpenApiParameter(
    "steam_id", str, OpenApiParameter.PATH, pattern=STEAM_ID64_EXACT_PATTERN,
    description="The user's steamid64 (an individual account: 76561197960265729 to 76561202255233023).",
)


class UserApi(ApiView):
    required_scopes = {"GET": "assignments:read", "PUT": "assignments:write"}

    @extend_schema(
        operation_id="users_retrieve", tags=["users"], summary="A Steam user's profile and your trade URL for them",
        description="Only for a user this system has dealt with (it set their trade URL or has an assignment for "
        "them); any other user is 404. `tradeUrl` is the URL this system set, never another system's.",
        parameters=[STEAM_ID_PATH], responses={200: UserOutput, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request, steam_id: str):
        found = user_get_for_system(steam_id=path_steam_id(steam_id), external_system=self.client.slug)
        if found is None:
            raise NotFound("Astro has not seen this Steam user.")
        return Response(UserOutput(found.user, context={"trade_url": found.trade_url}).data)

    @extend_schema(
        operation_id="users_update", tags=["users"], summary="Set your trade URL for a Steam user",
        description="The URL is this system's own: only your assignments are sent to it, and no other system can "
        "read or replace it. Creates the user if Astro has not seen it; a user Astro knows but this system has "
        "never dealt with is 404 (send the URL with an assignment instead, `tradeUrl`). Your assignments waiting "
        "for a trade URL (statusReason `trade_url_required`) resume.",
        parameters=[STEAM_ID_PATH], request=UserUpdateInput,
        responses={200: UserOutput, **errors(*WRITE_ERRORS, 404)},
    )
    def put(self, request, steam_id: str):
        steam_id = path_steam_id(steam_id)
        data = UserUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_set_trade_url(
            steam_id=steam_id, trade_url=data.validated_data["tradeUrl"], actor=self.client.slug, source="api",
            external_system=self.client.slug, only_own_users=True,
        )
        found = user_get_for_system(steam_id=steam_id, external_system=self.client.slug)
        return Response(UserOutput(found.user, context={"trade_url": found.trade_url}).data)
