from django.contrib import admin

from orchestration.models import Campaign, Client, ModelVersion
from orchestration.selectors.platform import platform_record_list

from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin


class PlatformRecordAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]

    def get_queryset(self, request):
        return platform_record_list(user=request.user, model=self.model)


@admin.register(Client)
class ClientAdmin(PlatformRecordAdmin):
    list_display = ["id", "name", "email", "organization", "status", "created_at"]
    search_fields = ["name", "email"]


@admin.register(ModelVersion)
class ModelVersionAdmin(PlatformRecordAdmin):
    list_display = ["__str__", "organization", "kind", "training_rows", "metrics", "created_at"]
    list_filter = [*PlatformRecordAdmin.list_filter, "kind"]


@admin.register(Campaign)
class CampaignAdmin(PlatformRecordAdmin):
    list_display = ["name", "organization", "channel", "min_churn_risk", "created_at"]
    list_filter = [*PlatformRecordAdmin.list_filter, "channel"]
