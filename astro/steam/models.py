"""What the gateway keeps in PostgreSQL: one row per bot account.

Not Redis: an eviction there would lose the refresh token, and with it the only
way to log in again without the password. The refresh token is encrypted
(`astro.core.crypto`); nothing else here is secret. Keyed by the bot's steamid64,
so more bots behind one pool add rows, not columns.
"""

from __future__ import annotations

from django.db import models


class BotSession(models.Model):
    steam_id = models.BigIntegerField(primary_key=True, help_text="The bot's steamid64.")
    # Lower-cased login name: how a bot is found before Steam has told us its steamid.
    account_name = models.CharField(max_length=64, db_index=True)
    # "live", or "sandbox:<url>": a token is only ever sent to the Steam that issued it.
    realm = models.CharField(max_length=300)
    refresh_token_encrypted = models.TextField(blank=True, default="")
    token_type = models.CharField(max_length=16, blank=True, default="", help_text="mobile, web or client (JWT aud)")
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # sha256 of the STEAM_REFRESH_TOKEN this row's token came from (empty: from Astro's own login),
    # so that a new token handed over by the operator replaces a renewed old one.
    operator_token_digest = models.CharField(max_length=64, blank=True, default="")
    trade_protection_acknowledged_at = models.DateTimeField(null=True, blank=True)
    steam_time_offset_seconds = models.IntegerField(null=True, blank=True, help_text="Steam's clock minus ours")
    steam_time_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "bot_sessions"
        verbose_name = "bot session"

    def __str__(self) -> str:
        return f"{self.account_name} ({self.steam_id})"
