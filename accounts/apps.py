from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Organizations and members"

    def ready(self) -> None:
        from .models import RoleGroup
        from .role_sync import role_group_deleted, role_permissions_sync_after_migrate

        # Sent for accounts only, after auth's handler (earlier in INSTALLED_APPS) has created
        # the permissions the role map names.
        post_migrate.connect(
            role_permissions_sync_after_migrate,
            sender=self,
            dispatch_uid="accounts.role_permissions_sync",
        )
        post_delete.connect(
            role_group_deleted, sender=RoleGroup, dispatch_uid="accounts.role_group_deleted"
        )

        from django.contrib.auth import get_user_model

        from . import lockouts, tokens

        # A password change revokes the user's API tokens; lockouts and unlocks are audited.
        tokens.connect_signals(get_user_model())
        lockouts.connect_signals()
