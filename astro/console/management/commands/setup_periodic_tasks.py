from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from astro.core.schedules import install_schedules


class Command(BaseCommand):
    help = "Install Astro's periodic tasks (config/schedules.py) into beat's database schedule. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true",
            help="Also restore the defaults of entries that exist (undoes edits made in the admin).",
        )

    def handle(self, *args, reset: bool = False, verbosity: int = 1, **options):
        # The list is wiring (config/), named by a setting: the console sits below config.
        schedules = import_string(settings.ASTRO_SCHEDULES)
        for name, action in install_schedules(schedules, reset=reset):
            if verbosity >= 1:
                self.stdout.write(f"{name}: {action}")
