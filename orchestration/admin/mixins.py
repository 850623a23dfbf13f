from django.contrib import admin

from orchestration import authorization


class ReadOnlyAdminMixin:
    """Rows are written by services only; no add, change or delete through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganizationScopedMixin:
    """Staff see their organizations' rows; `get_queryset` (a selector) decides which."""

    def has_module_permission(self, request):
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.is_superuser or authorization.views_somewhere(user))
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


def scoped_values_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A list filter offering the values of `field` found in the admin's *scoped* queryset
    (Django's AllValuesFieldListFilter would list every organization's values)."""

    class ScopedValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            values = (
                model_admin.get_queryset(request)
                .exclude(**{field: ""})
                .order_by(field)
                .values_list(field, flat=True)
                .distinct()
            )
            return [(value, value) for value in values]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    ScopedValuesFilter.title = title
    return ScopedValuesFilter


def choices_filter(choices) -> type[admin.RelatedFieldListFilter]:
    """A foreign-key list filter whose choices come from `choices(request)` (a short list of
    (pk, label) from a small table: the user's organizations, their members). Django's
    RelatedOnlyFieldListFilter asks for the distinct keys of every listed row instead, which
    reads the whole run list (a million rows) on every changelist page."""

    class ChoicesFilter(admin.RelatedFieldListFilter):
        def field_choices(self, field, request, model_admin):
            return choices(request)

    return ChoicesFilter


def fixed_values_filter(field: str, title: str, values) -> type[admin.SimpleListFilter]:
    """A list filter offering `values(request)` for `field` without reading the list (see
    `scoped_values_filter`, which asks for the distinct values of every listed row)."""

    class FixedValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(value, value) for value in values(request)]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    FixedValuesFilter.title = title
    return FixedValuesFilter
