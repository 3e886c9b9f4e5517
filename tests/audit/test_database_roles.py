"""The two-role setup: migrations run as the owner, Astro runs as a role that owns
nothing, and that role cannot get around the append-only audit trail, whatever it tries."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support.database import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _superuser(sql: str) -> None:
    with psycopg.connect(database_url(name="postgres"), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def two_roles():
    """A fresh database owned by an owner role, an application role that owns nothing,
    and `migrate` run the production way (both URLs set)."""
    tag = uuid.uuid4().hex[:8]
    owner, app, name = f"astro_owner_{tag}", f"astro_app_{tag}", f"astro_roles_{tag}"
    _superuser(f"CREATE ROLE {owner} LOGIN")
    _superuser(f"CREATE ROLE {app} LOGIN")
    _superuser(f"CREATE DATABASE {name} OWNER {owner}")
    urls = {"owner": database_url(user=owner, name=name), "app": database_url(user=app, name=name)}
    try:
        yield {"owner": owner, "app": app, "name": name, **{f"{k}_url": v for k, v in urls.items()}}
    finally:
        _superuser(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _superuser(f"DROP ROLE IF EXISTS {app}")
        _superuser(f"DROP ROLE IF EXISTS {owner}")


def _manage(*args: str, app_url: str, owner_url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": app_url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env.pop("DATABASE_OWNER_URL", None)
    if owner_url:
        env["DATABASE_OWNER_URL"] = owner_url
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _refused(url: str, statement: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refusal:
            conn.execute(statement)
    return str(refusal.value)


def test_the_application_role_cannot_get_around_the_audit_trigger(two_roles):
    migrated = _manage("migrate", "--noinput", app_url=two_roles["app_url"], owner_url=two_roles["owner_url"])
    assert migrated.returncode == 0, migrated.stderr
    assert f"Granted the application role '{two_roles['app']}'" in migrated.stdout

    app = two_roles["app_url"]
    with psycopg.connect(app, autocommit=True) as conn:
        owners = {row[0] for row in conn.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners == {two_roles["owner"]}  # the application role owns nothing
        conn.execute("INSERT INTO system_events (id, event_type, event_category, event_description, event_data,"
                     " severity, source, actor, created_at) VALUES (gen_random_uuid(), 'sync.requested', 'sync',"
                     " 'probe', '{}', 'info', 'system', 'probe', now())")
    for attempt in (
        "ALTER TABLE system_events DISABLE TRIGGER ALL",
        "ALTER TABLE system_events DISABLE TRIGGER system_events_no_update_or_delete",
        "DROP TRIGGER system_events_no_update_or_delete ON system_events",
        "CREATE OR REPLACE FUNCTION system_events_refuse_change() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN NEW; END $$",
        "SET session_replication_role = replica",
        "TRUNCATE system_events",
        "ALTER TABLE system_events RENAME TO old_events",
        "UPDATE system_events SET event_description = 'changed'",
        "DELETE FROM system_events",
        f"GRANT {two_roles['owner']} TO {two_roles['app']}",
    ):
        _refused(app, attempt)
    with psycopg.connect(app, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM system_events WHERE event_description = 'probe'").fetchone() == (1,)
        # Sync stages its snapshot in a temporary table with COPY.
        conn.execute("CREATE TEMP TABLE staged (v int)")
        with conn.cursor().copy("COPY staged (v) FROM STDIN") as copy:
            copy.write_row([1])


def test_astro_runs_as_the_application_role_and_later_tables_are_granted(two_roles):
    assert _manage("migrate", "--noinput", app_url=two_roles["app_url"], owner_url=two_roles["owner_url"]).returncode == 0
    # An ordinary write path of Astro, as the application role.
    script = ("import django; django.setup();"
              "from items.services import user_get_or_create;"
              "user_get_or_create(steam_id=76561198000000001, actor='probe', source='command')")
    result = _manage("shell", "-c", script, app_url=two_roles["app_url"])
    assert result.returncode == 0, result.stderr
    # A table a later migration creates (as the owner) is usable by the application at once.
    with psycopg.connect(two_roles["owner_url"], autocommit=True) as conn:
        conn.execute("CREATE TABLE later_table (id bigserial PRIMARY KEY, v text)")
    with psycopg.connect(two_roles["app_url"], autocommit=True) as conn:
        conn.execute("INSERT INTO later_table (v) VALUES ('x')")
        assert conn.execute("SELECT count(*) FROM later_table").fetchone() == (1,)
        assert "must be owner" in _refused(two_roles["app_url"], "DROP TABLE later_table")


def test_migrate_refuses_an_application_role_that_is_a_member_of_the_owner(two_roles):
    _superuser(f"GRANT {two_roles['owner']} TO {two_roles['app']}")
    result = _manage("migrate", "--noinput", app_url=two_roles["app_url"], owner_url=two_roles["owner_url"])
    assert result.returncode != 0
    assert "is a member of the owner role" in result.stderr
