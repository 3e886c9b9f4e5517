"""`migrate`, run as the owner role when DATABASE_OWNER_URL is set, then the grants.

Django's own command does the migrating. With two roles configured it runs on the
`owner` connection (the application role may not create or alter tables), and
afterwards grants the application role (DATABASE_URL's user) exactly its rights
(astro.core.dbroles). With one role (a checkout, the test suite) it is Django's
command unchanged.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from astro.core.dbroles import RoleSetupError, grant_application_role

OWNER_ALIAS = "owner"


class Command(migrate.Command):
    help = migrate.Command.help + " With DATABASE_OWNER_URL set, runs as the owner and grants the application role."

    def handle(self, *args, **options):
        two_roles = OWNER_ALIAS in settings.DATABASES and options["database"] == DEFAULT_DB_ALIAS
        if two_roles:
            options["database"] = OWNER_ALIAS
        super().handle(*args, **options)
        if two_roles:
            self._grant(verbosity=options["verbosity"])

    def _grant(self, *, verbosity: int) -> None:
        owner, app = settings.DATABASES[OWNER_ALIAS], settings.DATABASES[DEFAULT_DB_ALIAS]
        if owner["NAME"] != app["NAME"]:
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL name different databases.")
        with connections[OWNER_ALIAS].cursor() as cursor:
            try:
                done = grant_application_role(cursor, owner=owner["USER"], app=app["USER"], database=app["NAME"])
            except RoleSetupError as exc:
                raise CommandError(f"Refusing the database roles: {exc}.") from None
        if verbosity >= 1:
            self.stdout.write(f"Granted the application role {app['USER']!r} its rights ({len(done)} statements).")
