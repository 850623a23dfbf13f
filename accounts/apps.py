from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Organizations, memberships, role groups and API tokens: data the console reads. The
    operations on them are audited, so they live in orchestration (docs/architecture.md,
    layers): membership services, role groups, tokens, lockouts and their admin."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Organizations and members"
