import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Organization
from accounts.roles import Role
from orchestration.models import Client, Integration
from orchestration.platform.connectors import DEFAULT_CONNECTOR
from orchestration.platform.sync import platform_records_sync
from orchestration.services.memberships import membership_set_role

ORGANIZATIONS = {"acme": "Acme Corp", "globex": "Globex Corporation"}
MEMBERS = [
    ("acme-admin", "acme", Role.ADMIN),
    ("acme-manager", "acme", Role.MANAGER),
    ("acme-operator", "acme", Role.OPERATOR),
    ("acme-viewer", "acme", Role.VIEWER),
    ("globex-manager", "globex", Role.MANAGER),
]
DEMO_PLATFORMS = ["ga4", "hubspot"]


class Command(BaseCommand):
    help = (
        "Create (or bring up to date) the demo organizations, users and clients. Idempotent. "
        "Passwords come from DEMO_PASSWORD (default omnify-demo)."
    )

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "omnify-demo")
        User = get_user_model()
        with transaction.atomic():
            organizations = {
                slug: Organization.objects.update_or_create(slug=slug, defaults={"name": name})[0]
                for slug, name in ORGANIZATIONS.items()
            }
            admin, _ = User.objects.get_or_create(username="admin")
            admin.is_staff = admin.is_superuser = True
            # Only when it differs: a password change revokes the user's API tokens, and
            # `make run` seeds on every start.
            if not admin.check_password(password):
                admin.set_password(password)
            admin.save()
            for username, slug, role in MEMBERS:
                user, _ = User.objects.get_or_create(username=username)
                user.is_staff = True
                if not user.check_password(password):
                    user.set_password(password)
                user.save()
                membership_set_role(organization=organizations[slug], user=user, role=role)
        for slug, organization in organizations.items():
            client, _ = Client.objects.get_or_create(
                organization=organization,
                email=f"demo@{slug}.example",
                defaults={"name": f"{organization.name} demo client", "status": "active"},
            )
            for platform in DEMO_PLATFORMS:
                integration, _ = Integration.objects.get_or_create(client=client, platform=platform)
                if integration.connector != DEFAULT_CONNECTOR:  # demo: local, nothing to reach
                    # Someone pointed it at a real source: seeding (every `make run`) must not
                    # depend on that source being reachable, nor overwrite what it synced.
                    self.stdout.write(
                        f"{slug}: the demo client's {platform} integration reads "
                        f"{integration.connector!r} now; left as it is"
                    )
                    continue
                records = platform_records_sync(
                    organization_id=organization.pk,
                    client_id=client.pk,
                    platform=platform,
                    heartbeat=lambda *progress: None,
                ).records
                self.stdout.write(
                    f"{slug}: demo client id {client.pk} with {records} {platform} records"
                )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Logins: admin (superuser), "
                + ", ".join(username for username, _, _ in MEMBERS)
                + f"; password: {'$DEMO_PASSWORD' if 'DEMO_PASSWORD' in os.environ else password}"
            )
        )
