from django.apps import AppConfig


class SteamConfig(AppConfig):
    """The Steam gateway; its only models are the per-bot session rows (`BotSession`)."""

    name = "astro.steam"
    label = "steam"
    verbose_name = "Steam"
