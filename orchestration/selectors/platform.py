"""Read-only, permission-scoped queries for the records the workflows create."""

from django.db.models import Model, QuerySet

from accounts.permissions import organizations_for
from accounts.roles import VIEW_RUNS
from orchestration.models import Campaign, Client, ModelVersion

# How each platform model reaches its organization.
_ORGANIZATION_PATH = {
    Client: "organization",
    ModelVersion: "organization",
    Campaign: "organization",
}


def platform_record_list(*, user, model: type[Model]) -> QuerySet:
    """`model`'s rows in the organizations where `user` may see runs."""
    queryset = model.objects.select_related(_ORGANIZATION_PATH[model])
    if user.is_superuser:
        return queryset
    return queryset.filter(
        **{f"{_ORGANIZATION_PATH[model]}__in": organizations_for(user, VIEW_RUNS)}
    )
