"""Make system_events append-only in PostgreSQL itself.

The triggers refuse UPDATE, DELETE and TRUNCATE from any client, raw SQL included.
(A superuser can still switch triggers off with session_replication_role or drop
them; Astro's application role should not be a superuser — docs/operations.md.)
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION system_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'system_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events are never changed or deleted; record a new event instead.';
END
$$;
CREATE TRIGGER system_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON system_events
    FOR EACH ROW EXECUTE FUNCTION system_events_refuse_change();
CREATE TRIGGER system_events_no_truncate
    BEFORE TRUNCATE ON system_events
    FOR EACH STATEMENT EXECUTE FUNCTION system_events_refuse_change();
"""

BACKWARD = """
DROP TRIGGER system_events_no_truncate ON system_events;
DROP TRIGGER system_events_no_update_or_delete ON system_events;
DROP FUNCTION system_events_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
