"""The database cache's table (settings.CACHES["default"]): throttle counts shared by every
process and pod. Made by `migrate`, so every fresh database (make run, make test, CI, the
Kubernetes migration Job) has it; createcachetable skips a table that already exists."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_organization_permission_labels")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
