"""Keep assignment_items.is_active equal to "its assignment is pending or processing".

The partial unique index assignment_items_one_active_per_item relies on this flag,
so PostgreSQL derives it rather than trusting every writer to set it: on insert
from the parent's status, and on every status change of the parent.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION assignment_items_active_from_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.status IN ('pending', 'processing') INTO NEW.is_active
    FROM assignments a WHERE a.id = NEW.assignment_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER assignment_items_active_from_parent
    BEFORE INSERT OR UPDATE OF is_active, assignment_id ON assignment_items
    FOR EACH ROW EXECUTE FUNCTION assignment_items_active_from_parent();

CREATE FUNCTION assignments_propagate_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assignment_items
       SET is_active = (NEW.status IN ('pending', 'processing'))
     WHERE assignment_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER assignments_propagate_active
    AFTER UPDATE OF status ON assignments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION assignments_propagate_active();
"""

BACKWARD = """
DROP TRIGGER assignments_propagate_active ON assignments;
DROP FUNCTION assignments_propagate_active();
DROP TRIGGER assignment_items_active_from_parent ON assignment_items;
DROP FUNCTION assignment_items_active_from_parent();
"""


class Migration(migrations.Migration):
    dependencies = [("assignments", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
