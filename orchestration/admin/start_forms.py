"""The admin's start pages, generated from each unit's start serializer: one form field per
serializer field (a nested serializer's fields are named `<parent>__<child>`), the cleaned
form turned back into the API's request body and validated by the type's input schema, as
the API validates it (`WorkflowStartSerializer.validated_params`)."""

import functools

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.text import capfirst
from rest_framework import serializers
from rest_framework.fields import empty

from orchestration import authorization
from orchestration.models import Client
from orchestration.workflows.input_schema import OrganizationClientField
from orchestration.workflows.units import WorkflowUnit

from .form_errors import NESTED, add_form_errors


class ClientChoiceField(forms.ModelChoiceField):
    """A client of the organizations the user may start this type in (set by the form)."""

    def __init__(self, *, offered: Q, **kwargs):
        self.offered = offered
        super().__init__(queryset=Client.objects.none(), **kwargs)

    def label_from_instance(self, client: Client) -> str:
        return f"{client.name} ({client.organization.slug})"


class WorkflowStartForm(forms.Form):
    unit: WorkflowUnit
    required_css_class = "required"  # the admin shows these labels in bold

    organization = forms.ModelChoiceField(queryset=None, to_field_name="slug")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        organizations = authorization.start_organizations(request.user, self.unit.name)
        self.fields["organization"].queryset = organizations
        # A choice of one is no choice: preselect it rather than make the user pick it.
        offered = list(organizations[:2])
        if len(offered) == 1:
            self.fields["organization"].initial = offered[0]
        for field in self.fields.values():
            if isinstance(field, ClientChoiceField):
                field.queryset = (
                    Client.objects.filter(field.offered, organization__in=organizations)
                    .select_related("organization")
                    .order_by("organization__name", "name")
                )
        self.params: dict | None = None  # the run's input, once valid

    def api_data(self) -> dict:
        """The cleaned form as the API's request body, less the organization."""
        return _body(self.unit.start_serializer(), self.cleaned_data, skip={"organization"})

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.params = self.unit.start_serializer.validated_params(
                organization=cleaned["organization"],
                body=self.api_data(),
                context={"request": self.request},
            )
        except PermissionDenied as denied:
            raise forms.ValidationError(str(denied)) from None
        except serializers.ValidationError as error:
            add_form_errors(self, error.detail)
        return cleaned


@functools.cache
def start_form_class(unit: WorkflowUnit) -> type[WorkflowStartForm]:
    """The start form of `unit`, from its serializer's fields; made once per unit (each form
    instance copies its fields)."""
    serializer = unit.start_serializer()
    fields = _form_fields(serializer, skip={"organization"})  # the base form's own field
    return type(
        f"{unit.definition.input.__name__}Form", (WorkflowStartForm,), {"unit": unit, **fields}
    )


def _form_fields(
    serializer: serializers.Serializer,
    prefix: str = "",
    required: bool = True,
    skip: frozenset[str] | set[str] = frozenset(),
) -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for name, field in serializer.fields.items():
        if field.read_only or name in skip:
            continue
        if isinstance(field, serializers.Serializer):
            nested = f"{prefix}{name}{NESTED}"
            fields |= _form_fields(field, nested, required=required and field.required)
        else:
            fields[f"{prefix}{name}"] = form_field(field, required=required and field.required)
    return fields


def form_field(field: serializers.Field, *, required: bool) -> forms.Field:
    """The Django form field that edits what `field` validates. An unknown kind of field is a
    TypeError, which the registry test meets before any user does."""
    initial = field.initial if field.initial is not None else field.default
    options = {
        "required": required and field.default is empty,
        "label": capfirst(field.label or field.field_name.replace("_", " ")),
        "help_text": field.help_text or "",
        "initial": None if initial is empty else initial,
    }
    if isinstance(field, OrganizationClientField):
        return ClientChoiceField(offered=field.offered, **options)
    if isinstance(field, serializers.ChoiceField):
        return forms.ChoiceField(choices=list(field.choices.items()), **options)
    if isinstance(field, serializers.ListField) and isinstance(
        field.child, serializers.ChoiceField
    ):
        return forms.MultipleChoiceField(
            choices=list(field.child.choices.items()),
            widget=forms.CheckboxSelectMultiple,
            **options,
        )
    if isinstance(field, serializers.EmailField):
        return forms.EmailField(**options)
    if isinstance(field, serializers.CharField):
        return forms.CharField(max_length=field.max_length, **options)
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **options)
    if isinstance(field, serializers.FloatField):
        return forms.FloatField(min_value=field.min_value, max_value=field.max_value, **options)
    if isinstance(field, serializers.BooleanField):
        return forms.BooleanField(**{**options, "required": False})
    raise TypeError(
        f"The admin has no form field for a {type(field).__name__} ({field.field_name})."
    )


def _body(
    serializer: serializers.Serializer,
    cleaned: dict,
    prefix: str = "",
    skip: frozenset[str] | set[str] = frozenset(),
) -> dict:
    """Cleaned form values in the shape of `serializer`'s body; blank optional values are
    left out, so the serializer's defaults apply."""
    body = {}
    for name, field in serializer.fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        if isinstance(field, serializers.Serializer):
            body[name] = _body(field, cleaned, prefix=f"{key}{NESTED}")
            continue
        value = cleaned.get(key)
        if value in (None, "", []) and not field.required:
            continue
        if isinstance(field, OrganizationClientField):
            value = value.pk
        body[name] = value
    return body
