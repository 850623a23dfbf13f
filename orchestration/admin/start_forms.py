"""Admin forms to start each workflow type, validated by the same serializers as the API."""

from django import forms
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied

from accounts.permissions import organizations_for
from accounts.roles import WORKFLOW_PERMISSIONS
from orchestration.api.serializers import START_SERIALIZERS, EyesParamsSerializer
from orchestration.models import Client
from orchestration.temporal.shared import Channel, EyesModel, Platform, WorkflowType


class WorkflowStartForm(forms.Form):
    workflow_type: WorkflowType

    organization = forms.ModelChoiceField(queryset=None, to_field_name="slug")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        organizations = self.allowed_organizations()
        self.fields["organization"].queryset = organizations
        # A choice of one is no choice: preselect it rather than make the user pick it.
        offered = list(organizations[:2])
        if len(offered) == 1:
            self.fields["organization"].initial = offered[0]
        self.validated_serializer = None

    def allowed_organizations(self):
        """Organizations where this user may start this workflow type."""
        return organizations_for(self.request.user, WORKFLOW_PERMISSIONS[self.workflow_type])

    def api_data(self) -> dict:
        """The cleaned form as the API's request body."""
        data = dict(self.cleaned_data)
        data["organization"] = data["organization"].slug
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        serializer = START_SERIALIZERS[self.workflow_type](
            data=self.api_data(), context={"request": self.request}
        )
        try:
            valid = serializer.is_valid()
        except DRFPermissionDenied as denied:
            raise forms.ValidationError(str(denied.detail)) from None
        if not valid:
            self._add_api_errors(serializer.errors)
        else:
            self.validated_serializer = serializer
        return cleaned

    def _add_api_errors(self, errors: dict, prefix: str = "") -> None:
        for field, messages in errors.items():
            if isinstance(messages, dict):
                self._add_api_errors(messages, prefix=f"{field}.")
                continue
            target = field if field in self.fields else None
            label = "" if target else f"{prefix}{field}: "
            for message in messages:
                self.add_error(target, f"{label}{message}")


class ClientOnboardingForm(WorkflowStartForm):
    workflow_type = WorkflowType.CLIENT_ONBOARDING
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    platforms = forms.MultipleChoiceField(
        choices=Platform.choices(), widget=forms.CheckboxSelectMultiple
    )

    def api_data(self) -> dict:
        data = super().api_data()
        client = {key: data.pop(key) for key in ("name", "email", "platforms")}
        return {**data, "client": client}


class PlatformSyncForm(WorkflowStartForm):
    workflow_type = WorkflowType.PLATFORM_SYNC
    client = forms.ModelChoiceField(queryset=None)
    platform = forms.ChoiceField(choices=Platform.choices())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.filter(
            organization__in=self.allowed_organizations()
        ).select_related("organization")
        self.fields["client"].label_from_instance = lambda c: f"{c.name} ({c.organization.slug})"

    def api_data(self) -> dict:
        data = super().api_data()
        return {**data, "client": data["client"].pk}


class EyesRetrainForm(WorkflowStartForm):
    workflow_type = WorkflowType.EYES_RETRAIN
    model = forms.ChoiceField(choices=EyesModel.choices())
    epochs = forms.IntegerField(initial=EyesParamsSerializer().fields["epochs"].default)
    clusters = forms.IntegerField(
        initial=EyesParamsSerializer().fields["clusters"].default,
        help_text="For clustering: the number of segments.",
    )

    def api_data(self) -> dict:
        data = super().api_data()
        params = {key: data.pop(key) for key in ("epochs", "clusters")}
        return {**data, "params": params}


class RetentionCampaignForm(WorkflowStartForm):
    workflow_type = WorkflowType.RETENTION_CAMPAIGN
    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=Channel.choices())
    min_churn_risk = forms.FloatField(initial=0.6, help_text="From 0 to 1.")


START_FORMS: dict[str, type[WorkflowStartForm]] = {
    form.workflow_type: form
    for form in (ClientOnboardingForm, PlatformSyncForm, EyesRetrainForm, RetentionCampaignForm)
}
