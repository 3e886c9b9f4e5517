from django.apps import AppConfig


class AstroConfig(AppConfig):
    name = "astro"
    verbose_name = "Astro"
