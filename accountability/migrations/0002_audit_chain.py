"""Chain the audit trail: seq, prev_hash, hash on every event; a head row; append-only on PG."""

import django.utils.timezone
from django.db import migrations, models

GENESIS_HASH = "0" * 64

# PostgreSQL refuses any change to a stored event. TRUNCATE is refused too, unless the session
# says the whole database is being reset on purpose (the test suite's flush between tests sets
# accountability.allow_audit_truncate; nothing in the application does).
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION accountability_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('accountability.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: %% refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accountability_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON accountability_auditevent
    FOR EACH ROW EXECUTE FUNCTION accountability_audit_append_only();
CREATE TRIGGER accountability_audit_no_truncate
    BEFORE TRUNCATE ON accountability_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accountability_audit_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS accountability_audit_no_update_delete ON accountability_auditevent;
DROP TRIGGER IF EXISTS accountability_audit_no_truncate ON accountability_auditevent;
DROP FUNCTION IF EXISTS accountability_audit_append_only();
"""


def chain_existing(apps, schema_editor):
    from accountability.audit import event_hash

    AuditEvent = apps.get_model("accountability", "AuditEvent")
    AuditHead = apps.get_model("accountability", "AuditHead")
    seq, previous = 0, GENESIS_HASH
    for event in AuditEvent.objects.order_by("id").iterator():
        seq += 1
        event.seq, event.prev_hash = seq, previous
        event.hash = previous = event_hash(event)
        event.save(update_fields=["seq", "prev_hash", "hash"])
    AuditHead.objects.update_or_create(pk=1, defaults={"seq": seq, "hash": previous})


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def not_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("accountability", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField("auditevent", "seq", models.PositiveBigIntegerField(null=True)),
        migrations.AddField("auditevent", "prev_hash", models.CharField(max_length=64, null=True)),
        migrations.AddField("auditevent", "hash", models.CharField(max_length=64, null=True)),
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(default=GENESIS_HASH, max_length=64)),
            ],
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField("auditevent", "seq", models.PositiveBigIntegerField(unique=True)),
        migrations.AlterField(
            "auditevent", "prev_hash", models.CharField(max_length=64, unique=True)
        ),
        migrations.AlterField("auditevent", "hash", models.CharField(max_length=64, unique=True)),
        migrations.RunPython(append_only, not_append_only),
    ]
