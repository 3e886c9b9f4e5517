"""The application role's rights, granted by the owner role after every migration.

Production runs on two PostgreSQL roles. The **owner** owns every table and runs
the migrations; the **application** role (DATABASE_URL) owns nothing, so it can
never `ALTER TABLE ... DISABLE TRIGGER`, drop or replace the append-only triggers
of `system_events`, rename the table or truncate it (all need ownership), and
`session_replication_role` needs a superuser. It may read and write the other
tables, only SELECT and INSERT `system_events`, and create TEMP tables (sync
stages its snapshot with CREATE TEMP TABLE and COPY).

`ALTER DEFAULT PRIVILEGES` keeps tables and sequences that later migrations create
usable by the application role; the explicit grants below make every run repair
whatever a previous setup left.
"""

from __future__ import annotations

from psycopg import sql

APPEND_ONLY_TABLES = ("system_events",)


class RoleSetupError(Exception):
    """The roles are set up in a way that would let the application role get around the audit guard."""


def _role_check(cursor, *, owner: str, app: str) -> None:
    cursor.execute(
        "SELECT rolsuper, pg_has_role(%s, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s", [app, owner, app]
    )
    row = cursor.fetchone()
    if row is None:
        raise RoleSetupError(f"the application role {app!r} does not exist")
    superuser, member_of_owner = row
    if superuser:
        raise RoleSetupError(f"the application role {app!r} is a superuser: it could switch the audit guard off")
    if member_of_owner:
        raise RoleSetupError(f"the application role {app!r} is a member of the owner role {owner!r}")


def grant_application_role(cursor, *, owner: str, app: str, database: str) -> list[str]:
    """Grant `app` what Astro needs and nothing more, as `owner` (the cursor's role).

    Raises RoleSetupError when `app` is a superuser or a member of `owner`.
    Returns the statements run, for the command to print.
    """
    _role_check(cursor, owner=owner, app=app)
    app_id, owner_id, db_id = sql.Identifier(app), sql.Identifier(owner), sql.Identifier(database)
    statements = [
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db_id, app_id),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(app_id),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app_id),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(owner_id, app_id),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE, SELECT ON SEQUENCES TO {}").format(owner_id, app_id),
    ]
    for table in APPEND_ONLY_TABLES:
        # Append-only: read and add, nothing else (the triggers refuse the rest anyway).
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), app_id))
        statements.append(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(sql.Identifier(table), app_id))
    done = []
    for statement in statements:
        cursor.execute(statement)
        done.append(statement.as_string(cursor.connection))
    return done
