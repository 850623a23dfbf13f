"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the audit table, so the
log stays append-only even for code (or people) that bypass the ORM."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION orchestration_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'orchestration_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS orchestration_auditevent_append_only ON orchestration_auditevent;
CREATE TRIGGER orchestration_auditevent_append_only
    BEFORE UPDATE OR DELETE ON orchestration_auditevent
    FOR EACH ROW EXECUTE FUNCTION orchestration_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS orchestration_auditevent_append_only ON orchestration_auditevent;
DROP FUNCTION IF EXISTS orchestration_auditevent_append_only();
"""


def run_on_postgresql(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has literal % signs

    return operation


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0003_audit_actor_without_constraint")]

    operations = [migrations.RunPython(run_on_postgresql(CREATE), run_on_postgresql(DROP))]
