"""Steam users and the item pool (ADR-002 tables `users` and `items`)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from astro.core.fields import FixedCharField
from astro.core.steamids import STEAM_ID64_MAX, STEAM_ID64_MIN


class SteamUser(models.Model):
    """A Steam account Astro has dealt with (`users`). Keyed by its steamid64."""

    steam_id = models.BigIntegerField(primary_key=True)
    display_name = models.CharField(max_length=255, null=True, blank=True)
    avatar_url = models.CharField(max_length=512, null=True, blank=True)
    profile_url = models.CharField(max_length=512, null=True, blank=True)
    account_created_at = models.DateTimeField(null=True, blank=True)
    country_code = FixedCharField(max_length=2, null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    # Additions to ADR-002 (docs/architecture.md): the operator's trade URL (set in the
    # admin, by a command or the demo; external systems keep theirs in UserTradeUrl),
    # and when the profile was last refreshed from Steam.
    trade_url = models.CharField(max_length=512, null=True, blank=True)
    profile_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "users"
        verbose_name = "Steam user"
        constraints = [
            # steamid64 of an individual account (astro.core.steamids): account id 1 .. 2**32 - 1.
            models.CheckConstraint(
                condition=Q(steam_id__gte=STEAM_ID64_MIN) & Q(steam_id__lte=STEAM_ID64_MAX),
                name="users_steam_id_individual_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name or 'Steam user'} ({self.steam_id})"


class UserTradeUrl(models.Model):
    """One external system's relation to one Steam user (`user_trade_urls`).

    A row means the system "has dealt with" the user: it set a trade URL for them,
    or it has an assignment for them (then `trade_url` may be null). The URL is the
    system's own: only that system reads it, and only its assignments are sent to
    it. A trade URL's token lets anyone send the user offers, and a token another
    system overwrote would make this system's sends fail, so systems never share
    one. `external_system` is the system's slug, as on `assignments` (ADR-002),
    not a key into astro.integrations, which this app may not import.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(SteamUser, on_delete=models.PROTECT, related_name="system_trade_urls",
                             db_column="user_id", db_index=False)
    external_system = models.CharField(max_length=64)
    trade_url = models.CharField(max_length=512, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_trade_urls"
        verbose_name = "trade URL of a system"
        constraints = [
            # Also the index of every lookup (a system's row for a user).
            models.UniqueConstraint(fields=["external_system", "user"], name="user_trade_urls_system_user"),
        ]
        indexes = [models.Index(fields=["user"], name="user_trade_urls_user")]

    def __str__(self) -> str:
        return f"{self.external_system} -> {self.user_id}"


class ItemStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    IN_OFFER = "in_offer", "In offer"
    DELIVERED = "delivered", "Delivered"
    MISSING = "missing", "Missing"
    REMOVED = "removed", "Removed"
    QUARANTINED = "quarantined", "Quarantined"


# The status groups, defined here and imported everywhere else.
# In the bot's inventory, whatever Astro is doing with them (the pool's value).
HELD_BY_BOT = (ItemStatus.AVAILABLE, ItemStatus.RESERVED, ItemStatus.IN_OFFER, ItemStatus.QUARANTINED)
# Claimed by an assignment: delivery owns them, sync never changes their status.
CLAIMED = (ItemStatus.RESERVED, ItemStatus.IN_OFFER)
# Gone from the bot's inventory.
LEFT_BOT = (ItemStatus.DELIVERED, ItemStatus.REMOVED, ItemStatus.MISSING)


class ReceivedVia(models.TextChoices):
    TRADE = "trade", "Received in a trade"
    INITIAL_IMPORT = "initial_import", "First inventory import"
    SYNC = "sync", "Found by sync, unexplained"
    RESTORED = "restored", "Came back after a reverted trade"
    OPERATOR = "operator", "Added by an operator"


class Item(models.Model):
    """One Steam asset in the bot's inventory, and its place in the pool (`items`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    steam_asset_id = models.BigIntegerField()
    steam_class_id = models.BigIntegerField()
    steam_instance_id = models.BigIntegerField(default=0)
    steam_app_id = models.IntegerField()
    # Addition: CS2 trade-protected items live in context 16, others in 2 (or 6 for
    # Steam community items); the inventory URL needs it.
    steam_context_id = models.BigIntegerField(default=2)
    market_hash_name = models.CharField(max_length=255)
    market_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    item_name = models.CharField(max_length=255)
    item_type = models.CharField(max_length=255, null=True, blank=True)
    item_rarity = models.CharField(max_length=128, null=True, blank=True)
    steam_metadata = models.JSONField(default=dict, blank=True)
    custom_metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.AVAILABLE)
    # Additions: Steam's tradability flag and the end of a trade hold / protection.
    tradable = models.BooleanField(default=True)
    tradable_after = models.DateTimeField(null=True, blank=True)
    market_value_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    received_from_user = models.ForeignKey(
        SteamUser, on_delete=models.PROTECT, null=True, blank=True, related_name="items_received_from",
        db_column="received_from_user_id",
    )
    received_via = models.CharField(max_length=32, choices=ReceivedVia.choices, null=True, blank=True)
    # db_index=False: Meta's items_assigned_user is the index on this column (Django's
    # automatic FK index was a second, identical one, paid on every write).
    assigned_to_user = models.ForeignKey(
        SteamUser, on_delete=models.PROTECT, null=True, blank=True, related_name="items_assigned",
        db_column="assigned_to_user_id", db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_trade_offer_id = models.CharField(max_length=32, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "items"
        constraints = [
            models.UniqueConstraint(fields=["steam_asset_id", "steam_app_id"], name="items_asset_app_unique"),
            models.CheckConstraint(
                condition=Q(status__in=ItemStatus.values), name="items_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(market_value__isnull=True) | Q(market_value__gte=0), name="items_market_value_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(steam_asset_id__gt=0) & Q(steam_app_id__gt=0) & Q(steam_context_id__gt=0),
                name="items_steam_ids_positive",
            ),
            models.CheckConstraint(
                condition=Q(received_via__isnull=True) | Q(received_via__in=ReceivedVia.values),
                name="items_received_via_valid",
            ),
            # A reserved or offered item always names whom it is for.
            models.CheckConstraint(
                condition=~Q(status__in=["reserved", "in_offer"]) | Q(assigned_to_user__isnull=False),
                name="items_claimed_has_user",
            ),
        ]
        indexes = [
            # The pool query: available items of a game, by name.
            models.Index(fields=["status", "steam_app_id", "market_hash_name"], name="items_status_app_name"),
            models.Index(fields=["steam_app_id", "steam_context_id"], name="items_app_context"),
            models.Index(fields=["assigned_to_user"], name="items_assigned_user"),
            models.Index(fields=["market_hash_name"], name="items_market_hash_name"),
            # The API's pool pages: newest first, by status and game (cursor pagination on created_at).
            models.Index(fields=["status", "steam_app_id", "-created_at"], name="items_status_app_created"),
            models.Index(fields=["-created_at"], name="items_created"),
        ]

    def __str__(self) -> str:
        return f"{self.item_name} ({self.steam_app_id}/{self.steam_asset_id})"
