from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The base layer: no models; installed for its admin templates and static files."""

    name = "astro.core"
    label = "core"
    verbose_name = "Astro core"
