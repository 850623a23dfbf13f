from django.core.management.base import BaseCommand

from orchestration.role_groups import role_permissions_sync


class Command(BaseCommand):
    help = (
        "Make every organization's role groups hold exactly the permissions of "
        "accounts.roles.ROLE_PERMISSIONS, put every member in the group of their role and "
        "remove per-user role permissions. Idempotent; `migrate` runs it too."
    )

    def handle(self, *args, **options):
        result = role_permissions_sync()
        self.stdout.write(str(result))
        if result.changed:
            self.stdout.write(self.style.SUCCESS("Role permissions now match the role map."))
        else:
            self.stdout.write("Nothing changed: role permissions already matched the role map.")
