"""A database guard: case events can be inserted, never updated or deleted.

The ORM refuses too (CaseEvent.save/delete, its queryset), but the log is the record of what
happened to a case, so the database must refuse whatever the caller — raw SQL, another program,
a careless migration. TRUNCATE (used by test teardown) is a separate statement and not guarded.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION cases_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only: % refused on cases_caseevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cases_caseevent_append_only
    BEFORE UPDATE OR DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_caseevent_append_only();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS cases_caseevent_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_caseevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunSQL(GUARD, UNGUARD)]
