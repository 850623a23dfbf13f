"""Indexes for the run list's filters (issue 12, P4), and on PostgreSQL a pattern-ops index so
that a workflow-id prefix search (`LIKE 'prefix%'`) reads the index (SQLite's search uses a
range on the unique index instead: orchestration.selectors.runs.workflow_id_prefix)."""

from django.conf import settings
from django.db import migrations, models

PATTERN_INDEX = "run_workflow_id_pattern"


def create_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PATTERN_INDEX} ON orchestration_workflowrun"
            " (workflow_id varchar_pattern_ops)"
        )


def drop_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PATTERN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_manage_integrations_permission"),
        ("orchestration", "0006_connectors_schedules_campaigns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="workflowrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING", "Pending"),
                    ("RUNNING", "Running"),
                    ("COMPLETED", "Completed"),
                    ("FAILED", "Failed"),
                    ("CANCELED", "Canceled"),
                    ("TERMINATED", "Terminated"),
                    ("TIMED_OUT", "Timed out"),
                    ("START_FAILED", "Start failed"),
                ],
                default="PENDING",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="workflowrun",
            index=models.Index(fields=["status", "-created_at"], name="run_status_created"),
        ),
        migrations.AddIndex(
            model_name="workflowrun",
            index=models.Index(
                fields=["workflow_type", "status", "-created_at"], name="run_type_status_created"
            ),
        ),
        migrations.AddIndex(
            model_name="workflowrun",
            index=models.Index(
                fields=["organization", "status", "-created_at"], name="run_org_status_created"
            ),
        ),
        migrations.AddIndex(
            model_name="workflowrun",
            index=models.Index(
                fields=["organization", "workflow_type", "status", "-created_at"],
                name="run_org_type_status_created",
            ),
        ),
        migrations.RunPython(create_pattern_index, drop_pattern_index, elidable=False),
    ]
