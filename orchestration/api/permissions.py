"""DRF permission classes over `orchestration.authorization`: every view names what it needs,
and `get_object()` runs the object check after the queryset (scoped to the caller's
organizations) has turned another organization's run into a 404."""

from rest_framework.permissions import BasePermission, IsAuthenticated

from orchestration import authorization


class CanViewRun(IsAuthenticated):
    def has_object_permission(self, request, view, run) -> bool:
        return authorization.may_view(request.user, run)


class CanCancelRun(IsAuthenticated):
    message = "Your role doesn't allow cancelling runs of this type here."

    def has_object_permission(self, request, view, run) -> bool:
        return authorization.may_cancel(request.user, run)


class CanManageRun(IsAuthenticated):
    message = "Terminating and retrying runs needs the manager or admin role."

    def has_object_permission(self, request, view, run) -> bool:
        return authorization.may_manage(request.user, run)


class CanStartSomewhere(IsAuthenticated):
    """The request may go on to validation, which checks the organization it names (so a
    caller learns nothing about organizations it can't use)."""

    message = "Your role doesn't allow starting runs of this type."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and authorization.starts_somewhere(
            request.user, view.unit.name
        )


class CanViewConfiguration(BasePermission):
    message = "Viewing the configuration needs the manager or admin role."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and authorization.may_view_configuration(user)
