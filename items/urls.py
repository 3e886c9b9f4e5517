"""API routes of the item pool and Steam users (mounted at /api/ by config.urls)."""

from django.urls import path

from items.api import ItemDetailApi, ItemListApi, UserApi

urlpatterns = [
    path("items", ItemListApi.as_view(), name="api-items"),
    path("items/<str:item_id>", ItemDetailApi.as_view(), name="api-item"),
    path("users/<str:steam_id>", UserApi.as_view(), name="api-user"),
]
