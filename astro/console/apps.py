from django.apps import AppConfig

from astro.console import roles


class ConsoleConfig(AppConfig):
    """The operator console across apps: dashboard, roles, ops commands."""

    name = "astro.console"
    label = "console"
    verbose_name = "Operator console"

    def ready(self) -> None:
        # The viewer/operator groups are rebuilt after every migrate.
        roles.connect()
        # Receivers connect on import; the module imports models, so only once apps are ready.
        from astro.console import receivers  # noqa: F401
