from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """External systems, their API keys and idempotency records.

    The label stays `astro` (the app's name before it moved here), so its tables,
    migrations and permissions (`astro.manage_api_keys`) keep their names.
    """

    name = "astro.integrations"
    label = "astro"
    verbose_name = "Integrations"
