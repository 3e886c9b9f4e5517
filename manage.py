#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Load the settings first: Django would otherwise swallow their error and a command
    # fail later with "Models aren't loaded yet", which names nothing to fix.
    try:
        settings.INSTALLED_APPS
    except ImproperlyConfigured as exc:
        sys.exit(
            f"{os.environ['DJANGO_SETTINGS_MODULE']}: {exc}\n"
            "On a checkout, name the dev settings, which start embedded PostgreSQL and Redis: "
            "DJANGO_SETTINGS_MODULE=config.settings.dev"
        )
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
