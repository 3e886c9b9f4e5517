"""Fixtures for the operator console tests (tests/admin, tests/browser).

Users are made the way an administrator makes them (a staff account in the
`viewer`, `operator` or `key_manager` group, astro/console/roles.py); the groups are rebuilt first
because a transactional test's flush empties them.
"""

from __future__ import annotations

import pytest

from audit.models import SystemEvent
from astro.console.roles import KEY_MANAGER, OPERATOR, VIEWER, ensure_admin_roles

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def admin_roles(db):
    ensure_admin_roles()


@pytest.fixture
def make_staff(admin_roles, django_user_model):
    def make(username: str, role: str | None):
        from django.contrib.auth.models import Group

        if role == "superuser":
            return django_user_model.objects.create_superuser(username, password=PASSWORD)
        user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def operator(make_staff):
    return make_staff("olga", OPERATOR)


@pytest.fixture
def viewer(make_staff):
    return make_staff("victor", VIEWER)


@pytest.fixture
def key_manager(make_staff):
    return make_staff("kate", KEY_MANAGER)


@pytest.fixture
def key_manager_client(client, key_manager):
    client.force_login(key_manager)
    return client


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def events_of(event_type: str, **filters) -> list[SystemEvent]:
    return list(SystemEvent.objects.filter(event_type=event_type, **filters).order_by("created_at"))
