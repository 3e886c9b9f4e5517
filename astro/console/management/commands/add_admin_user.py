"""manage.py add_admin_user <username> --role viewer|operator|key-manager|superuser

Creates a login for the operator console: a staff account in the `viewer` group
(sees everything, changes nothing), the `operator` group (may also run the
overrides and controls), the `key_manager` group (mints, rotates and revokes API
keys, nothing else), or a superuser. The password is asked twice on the
terminal, or read from the file named by --password-file (first line).
"""

from __future__ import annotations

import getpass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from astro.console.roles import KEY_MANAGER, OPERATOR, VIEWER, ensure_admin_roles

# --role value -> group name (the group's name is a Python-style identifier).
ROLES = {VIEWER: VIEWER, OPERATOR: OPERATOR, "key-manager": KEY_MANAGER, "superuser": None}


class Command(BaseCommand):
    help = "Create an operator-console login: a viewer, an operator, a key manager or a superuser."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=list(ROLES), required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-file", type=Path, help="read the password from this file's first line")

    def handle(self, *args, username: str, role: str, email: str, password_file: Path | None, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists (change its groups in the admin).")
        password = self._password(password_file)
        candidate = User(username=username, email=email)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        ensure_admin_roles()
        with transaction.atomic():
            if role == "superuser":
                User.objects.create_superuser(username, email=email, password=password)
            else:
                user = User.objects.create_user(username, email=email, password=password, is_staff=True)
                user.groups.add(Group.objects.get(name=ROLES[role]))
        self.stdout.write(self.style.SUCCESS(f"Created {role} {username!r}: log in at /admin/."))

    def _password(self, password_file: Path | None) -> str:
        if password_file is not None:
            try:
                lines = password_file.read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"Cannot read {password_file}: {exc}") from None
            if not lines or not lines[0]:
                raise CommandError(f"{password_file} is empty.")
            return lines[0]
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first
