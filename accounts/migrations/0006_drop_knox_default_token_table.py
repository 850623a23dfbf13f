from django.db import migrations


class Migration(migrations.Migration):
    """django-rest-knox's own migrations create `knox_authtoken` even though its token model is
    swapped for accounts.ApiToken (KNOX_TOKEN_MODEL). Nothing uses that table, and as no model
    owns it Django's flush doesn't empty it: on PostgreSQL its foreign key to auth_user makes
    every truncation of users fail. Dropped; recreating it on the way back is knox's business."""

    dependencies = [
        ("accounts", "0005_api_token"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS knox_authtoken", migrations.RunSQL.noop),
    ]
