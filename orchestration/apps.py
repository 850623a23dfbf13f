from django.apps import AppConfig, apps
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_migrate


class OrchestrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orchestration"
    verbose_name = "Workflow console"

    def ready(self) -> None:
        # Imported once the app registry is ready: each of these imports models.
        from accounts.models import RoleGroup

        from . import signals  # noqa: F401  (settings_changed receivers)
        from .role_groups import role_group_deleted, role_permissions_sync_after_migrate
        from .services import lockouts, tokens

        # Sent for accounts only, after auth's handler (earlier in INSTALLED_APPS) has created
        # the permissions the role map names.
        post_migrate.connect(
            role_permissions_sync_after_migrate,
            sender=apps.get_app_config("accounts"),
            dispatch_uid="orchestration.role_permissions_sync",
        )
        post_delete.connect(
            role_group_deleted, sender=RoleGroup, dispatch_uid="orchestration.role_group_deleted"
        )
        # A password change revokes the user's API tokens; lockouts and unlocks are audited.
        tokens.connect_signals(get_user_model())
        lockouts.connect_signals()
