from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orchestration"
    verbose_name = "Workflow console"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (settings_changed receivers)
