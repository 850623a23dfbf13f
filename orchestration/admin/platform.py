"""Read-only pages for the records the workflows create, each scoped by a selector and each
linking to the runs that made or touched it."""

import json
from collections.abc import Iterable
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from orchestration.contract.vocabulary import Platform
from orchestration.models import Campaign, Client, Integration, ModelVersion, WorkflowRun
from orchestration.platform.airbyte.sources import source_named
from orchestration.platform.connectors import (
    ConnectorFailure,
    ConnectorUnavailable,
    connector_choices,
)
from orchestration.platform.credentials import stored_secrets
from orchestration.platform.integration_check import (
    NotCheckable,
    integration_check,
    integration_streams,
)
from orchestration.platform.integration_settings import (
    IntegrationSettingsSerializer,
    integration_settings_save,
    manages_integrations_somewhere,
    may_configure,
)
from orchestration.platform.webhooks import (
    integration_webhook_disable,
    integration_webhook_enable,
)
from orchestration.selectors.platform import (
    campaign_audience,
    campaign_list,
    client_list,
    client_metric_totals,
    client_record_counts,
    client_run_list,
    integration_list,
    model_version_list,
    platform_record_list,
    with_record_count,
)

from .connector_form import PREFIX, config_from_settings, setting_fields, setting_initial
from .form_errors import error_lines
from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin, scoped_values_filter

# What the training code reports (orchestration/platform/training.py), in reading order.
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "accuracy": "Accuracy",
    "churn_rate": "Churn rate",
    "silhouette": "Silhouette",
    "inertia": "Inertia",
    "cluster_sizes": "Cluster sizes",
    "epochs": "Epochs",
}

# A campaign can reach thousands of people; its page shows the riskiest.
AUDIENCE_SHOWN = 100


def _change_link(obj: Model | None, text: str | None = None) -> SafeString | None:
    """A link to `obj`'s admin page, or None (shown as "-") when there is no object."""
    if obj is None:
        return None
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or obj)


def _table(headers: list[str], rows: Iterable[Iterable]) -> SafeString:
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _json(value) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def _platform_label(value: str) -> str:
    return dict(Platform.choices()).get(value, value)


def _shortened(text: str | None, length: int = 80) -> str | None:
    return text if not text or len(text) <= length else text[: length - 1] + "…"


def _amount(value) -> str:
    """A summed metric: thousands separated, cents when it has any."""
    text = f"{value:,.2f}"
    return text.removesuffix(".00")


def _metric_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class PlatformRecordAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]

    def get_queryset(self, request):
        return platform_record_list(user=request.user, model=self.model)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Django would redirect with "doesn't exist"; another organization's record is
            # answered like a missing one, as the API does.
            raise Http404("No such record.")
        return obj


class IntegrationInline(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Integration
    fields = ["platform", "last_synced_at", "record_count", "created_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        # The client page is already scoped; its integrations only need their counts.
        return with_record_count(super().get_queryset(request))

    @admin.display(description="records")
    def record_count(self, integration: Integration) -> int:
        return integration.record_count


@admin.register(Client)
class ClientAdmin(PlatformRecordAdmin):
    list_display = ["name", "organization", "status", "integration_count", "created_at"]
    list_filter = [*PlatformRecordAdmin.list_filter, "status"]
    search_fields = ["name", "email"]
    fields = [
        "name",
        "email",
        "organization",
        "status",
        "created_at",
        "records_by_platform",
        "metrics_display",
        "dashboard_display",
        "runs",
    ]
    readonly_fields = fields
    inlines = [IntegrationInline]

    def get_queryset(self, request):
        return client_list(user=request.user)

    @admin.display(description="integrations", ordering="integration_count")
    def integration_count(self, client: Client) -> int:
        return client.integration_count

    @admin.display(description="synced records")
    def records_by_platform(self, client: Client) -> SafeString:
        counts = client_record_counts(client=client)
        if not counts:
            return self.get_empty_value_display()  # None would read "None"
        rows = [(_platform_label(platform), count) for platform, count in counts.items()]
        return _table(["platform", "records"], [*rows, ("total", sum(counts.values()))])

    @admin.display(description="metrics, last 30 days")
    def metrics_display(self, client: Client) -> SafeString:
        since = timezone.localdate() - timedelta(days=30)
        totals = client_metric_totals(client=client, since=since)
        if not totals:
            return self.get_empty_value_display()
        rows = [
            (
                _platform_label(row["integration__platform"]),
                row["name"].replace("_", " "),
                _amount(row["total"]),
                row["days"],
            )
            for row in totals
        ]
        return _table(["platform", "metric", "total", "days reported"], rows)

    @admin.display(description="dashboard")
    def dashboard_display(self, client: Client) -> SafeString:
        # A client whose onboarding hasn't reached the dashboard step has none; the reverse
        # one-to-one's DoesNotExist is an AttributeError.
        dashboard = getattr(client, "dashboard", None)
        if dashboard is None:
            return self.get_empty_value_display()
        widgets = format_html_join(
            "", "<li>{}</li>", ((self._widget_text(widget),) for widget in dashboard.widgets)
        )
        return format_html("<strong>{}</strong><ul>{}</ul>", dashboard.title, widgets)

    @staticmethod
    def _widget_text(widget: dict) -> str:
        name = str(widget.get("type", "widget")).replace("_", " ").capitalize()
        platform = widget.get("platform")
        return f"{name}: {_platform_label(platform)}" if platform else name

    @admin.display(description="runs")
    def runs(self, client: Client) -> SafeString:
        runs = list(client_run_list(client=client))
        if not runs:
            return self.get_empty_value_display()
        rows = (
            (
                _change_link(run, run.workflow_id),
                run.get_workflow_type_display(),
                run.get_status_display(),
                display_for_value(run.created_at, "-"),
            )
            for run in runs
        )
        return _table(["workflow", "type", "status", "created"], rows)


class IndentedJSONEncoder(json.JSONEncoder):
    """Settings shown one per line in the form's text area."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "indent": 2})


class IntegrationSettingsForm(forms.ModelForm):
    """The integration's connector, settings and credentials, validated by the API's own
    serializer (IntegrationSettingsSerializer); saved by `integration_settings_save`."""

    connector = forms.ChoiceField(choices=connector_choices)
    config = forms.JSONField(
        required=False,
        encoder=IndentedJSONEncoder,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70, "class": "vLargeTextField"}),
        help_text=mark_safe(  # a constant: nothing from a request goes into it
            "The connector's settings as JSON; left-out settings take their defaults. "
            "For http-json: <code>url</code>, <code>page_size</code>, <code>cursor_param</code>, "
            "<code>limit_param</code>, <code>records_path</code>, <code>next_cursor_path</code>, "
            "<code>fields</code>, <code>timeout_seconds</code> (docs/connectors.md)."
        ),
    )
    credentials_header = forms.CharField(
        required=False, max_length=100, label="Credential header", initial="Authorization"
    )
    credentials_value = forms.CharField(
        required=False,
        max_length=4096,
        label="Credential value",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave empty to keep the stored value.",
    )
    remove_credentials = forms.BooleanField(required=False, label="Remove the credentials")
    streams = forms.JSONField(
        required=False,
        encoder=IndentedJSONEncoder,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70, "class": "vLargeTextField"}),
        help_text=mark_safe(  # a constant: nothing from a request goes into it
            'More streams to read, and how: <code>{"&lt;stream&gt;": "incremental"}</code> or '
            '<code>"full_refresh"</code>. The streams the customers are made of are read '
            "anyway; leave it empty for just those (a connector without normalization then "
            "reads every stream). <b>List streams</b> shows what the source offers."
        ),
    )

    class Meta:
        model = Integration
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        integration = self.instance
        # An Airbyte connector's settings are fields of their own (declared by
        # IntegrationAdmin.get_form from its spec); the JSON is for another connector's.
        self.source = source_named(integration.connector)
        self.initial.update(
            connector=integration.connector,
            config={} if self.source else integration.config,
            credentials_header=integration.credentials_header or "Authorization",
            streams=integration.streams or {},
        )
        if self.source:
            self.initial.update(setting_initial(self.source, integration.config))
            self.fields["config"].help_text = (
                "Only when switching to another connector: its settings as JSON (left out, "
                "its defaults). After saving, its settings show as fields here."
            )

    def clean(self):
        data = super().clean()
        keeps_source = self.source is not None and data.get("connector") == self.instance.connector
        config = (
            config_from_settings(self.source, data, set(stored_secrets(self.instance)))
            if keeps_source
            else data.get("config") or {}
        )
        body = {"connector": data.get("connector"), "config": config}
        if keeps_source:
            body["streams"] = data.get("streams") or {}
        if data.get("remove_credentials"):
            body["credentials"] = None
        elif data.get("credentials_value"):
            body["credentials"] = {
                "header": data.get("credentials_header") or "Authorization",
                "value": data["credentials_value"],
            }
        serializer = IntegrationSettingsSerializer(
            data=body, partial=True, context={"integration": self.instance}
        )
        if not serializer.is_valid():
            for field, errors in serializer.errors.items():
                if field == "config" and keeps_source and isinstance(errors, dict):
                    for setting, problems in errors.items():
                        name = PREFIX + str(setting).split("/")[0].split(".")[0]
                        self.add_error(
                            name if name in self.fields else None,
                            error_lines({setting: problems}),
                        )
                    continue
                self.add_error(
                    "credentials_value" if field == "credentials" else field,
                    error_lines(errors),
                )
        else:
            self.settings = serializer.validated_data
        return data


def _moment(text: str | None) -> str:
    """An ISO 8601 time from a JSON record, as the admin shows times."""
    moment = parse_datetime(text) if text else None
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "-"


@admin.register(Integration)
class IntegrationAdmin(PlatformRecordAdmin):
    list_display = [
        "client",
        "platform",
        "organization",
        "connector",
        "last_synced_at",
        "last_sync_numbers",
        "record_count",
    ]
    list_filter = [
        ("client__organization", admin.RelatedOnlyFieldListFilter),
        "platform",
        # The values of the user's own integrations (Django's own filter would list all).
        scoped_values_filter("connector", "connector"),
    ]
    search_fields = ["client__name"]
    form = IntegrationSettingsForm
    info_fields = [
        "client_link",
        "platform",
        "organization",
        "created_at",
        "last_synced_at",
        "last_sync_table",
        "cursor",
        "credentials_state",
        "record_count",
    ]
    readonly_fields = info_fields
    # What someone who may not configure it sees.
    view_fields = [*info_fields, "connector", "config_json"]
    fieldsets = [
        (None, {"fields": info_fields}),
        (
            "Connector",
            {
                "fields": [
                    "connector",
                    "config",
                    "credentials_header",
                    "credentials_value",
                    "remove_credentials",
                ],
                "description": "Managers and admins change where the records come from. "
                "Changing the connector or its settings makes the next sync start over.",
            },
        ),
    ]

    def get_queryset(self, request):
        return integration_list(user=request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return manages_integrations_somewhere(request.user)
        return may_configure(request.user, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is None or not self.has_change_permission(request, obj):
            return [(None, {"fields": self.view_fields})]
        webhook = ("Webhook", {"fields": ["webhook_controls"]})
        source = source_named(obj.connector)
        if source is None:
            return [*self.fieldsets, webhook]
        info, (title, connector) = self.fieldsets
        return [
            info,
            (
                title,
                {
                    **connector,
                    "fields": [
                        "connector",
                        "test_connection",
                        *setting_fields(source),
                        "streams",
                        "list_streams",
                        "config",
                    ],
                },
            ),
            webhook,
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        source = source_named(obj.connector) if obj is not None else None
        if source is not None:
            kwargs["form"] = type(
                "AirbyteIntegrationSettingsForm", (self.form,), dict(setting_fields(source))
            )
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            return [*self.info_fields, "test_connection", "list_streams", "webhook_controls"]
        return self.view_fields

    def get_urls(self):
        return [
            path(
                "<path:object_id>/check/",
                self.admin_site.admin_view(self.check_view),
                name="orchestration_integration_check",
            ),
            path(
                "<path:object_id>/streams/",
                self.admin_site.admin_view(self.streams_view),
                name="orchestration_integration_streams",
            ),
            path(
                "<path:object_id>/webhook/",
                self.admin_site.admin_view(self.webhook_view),
                name="orchestration_integration_webhook",
            ),
            *super().get_urls(),
        ]

    def _integration_and_page(self, request, object_id) -> tuple[Integration, str]:
        """The user's integration (404 if it isn't one) and its page, for the page's buttons
        (POST only: they submit the page's form, CSRF token included)."""
        integration = self.get_object(request, object_id)
        if integration is None:
            raise Http404
        return integration, reverse("admin:orchestration_integration_change", args=[integration.pk])

    def check_view(self, request, object_id):
        """Test connection: the connector's own answer, as a message on the integration's
        page (POST only; the button submits the page's form here, CSRF token included)."""
        integration, page = self._integration_and_page(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        try:
            outcome = integration_check(user=request.user, integration=integration)
        except (PermissionDenied, NotCheckable) as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Test connection {'succeeded' if outcome.succeeded else 'failed'} "
                f"({outcome.seconds:.1f} s): {outcome.message}",
                messages.SUCCESS if outcome.succeeded else messages.ERROR,
            )
        return HttpResponseRedirect(page)

    def streams_view(self, request, object_id):
        """List streams: what the source offers with the saved settings (`discover`), as a
        message on the integration's page."""
        integration, page = self._integration_and_page(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        try:
            offered = integration_streams(user=request.user, integration=integration)
        except (PermissionDenied, NotCheckable, ConnectorFailure, ConnectorUnavailable) as error:
            self.message_user(request, f"Listing streams failed: {error}", messages.ERROR)
            return HttpResponseRedirect(page)
        self.message_user(
            request,
            format_html(
                "{} offers {} streams: {}",
                integration.connector,
                len(offered),
                format_html_join(
                    "; ",
                    "<code>{}</code> ({}{})",
                    (
                        (
                            stream.name,
                            " or ".join(stream.sync_modes),
                            f"; read {stream.sync_mode}" if stream.chosen else "; not read",
                        )
                        for stream in offered
                    ),
                ),
            ),
        )
        return HttpResponseRedirect(page)

    @admin.display(description="list streams")
    def list_streams(self, integration: Integration) -> SafeString:
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            'formnovalidate>List streams</button> <span class="help">Asks {} which streams '
            "its source offers with the saved settings, and how each can be read.</span>",
            reverse("admin:orchestration_integration_streams", args=[integration.pk]),
            integration.connector,
        )

    def webhook_view(self, request, object_id):
        """Set up (or remove) the integration's webhook; its address and secret are shown on
        the page this answers with, and nowhere else (not in a message: those may travel in
        a cookie)."""
        integration, page = self._integration_and_page(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        try:
            if request.POST.get("webhook") == "remove":
                integration_webhook_disable(user=request.user, integration=integration)
                self.message_user(request, "Webhook removed: its address answers 404 now.")
                return HttpResponseRedirect(page)
            scheme = request.POST.get("webhook", "")
            app_secret = request.POST.get("webhook_app_secret", "") if scheme == "hubspot" else ""
            enabled = integration_webhook_enable(
                user=request.user, integration=integration, scheme=scheme, app_secret=app_secret
            )
        except (PermissionDenied, ValueError) as refused:
            self.message_user(request, str(refused).split(": ", 1)[-1], messages.ERROR)
            return HttpResponseRedirect(page)
        url = request.build_absolute_uri(
            reverse("platform-webhook", kwargs={"webhook_id": enabled.webhook_id})
        )
        context = {
            **self.admin_site.each_context(request),
            "integration": integration,
            "url": url,
            "scheme": enabled.scheme,
            "secret": enabled.secret,
            "back": page,
            "debounce": settings.OMNIFY_WEBHOOK_DEBOUNCE_SECONDS,
        }
        # admin_view marks it never to be cached (no-store).
        return TemplateResponse(
            request, "admin/orchestration/integration/webhook_enabled.html", context
        )

    @admin.display(description="webhook")
    def webhook_controls(self, integration: Integration) -> SafeString:
        action = reverse("admin:orchestration_integration_webhook", args=[integration.pk])
        button = (
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            'formnovalidate name="webhook" value="{}">{}</button>'
        )
        state = (
            format_html("Deliveries accepted, signed the {} way. ", integration.webhook_scheme)
            if integration.webhook_id
            else "None: the integration syncs when a run or schedule says so. "
        )
        verb = "Replace with" if integration.webhook_id else "Set up"
        hubspot = format_html(
            '<input type="password" name="webhook_app_secret" autocomplete="off" size="28" '
            'placeholder="HubSpot app\'s client secret" aria-label="HubSpot app\'s client '
            'secret"> ' + button,
            action,
            "hubspot",
            f"{verb} a HubSpot webhook",
        )
        return format_html(
            '{}{} {}{}<div class="help">A source that signs its deliveries tells the console '
            "something changed; a burst of them makes one sync. The address and secret are "
            "shown once; a new webhook replaces them, and the old address stops working.</div>",
            state,
            format_html(
                button,
                action,
                "omnify",
                "Replace the webhook" if integration.webhook_id else "Set up a webhook",
            ),
            hubspot,
            format_html(" " + button, action, "remove", "Remove") if integration.webhook_id else "",
        )

    @admin.display(description="test connection")
    def test_connection(self, integration: Integration) -> SafeString:
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            'formnovalidate>Test connection</button> <span class="help">Asks {} whether it '
            "reaches its source with the saved settings (up to 30 s); save changes first.</span>",
            reverse("admin:orchestration_integration_check", args=[integration.pk]),
            integration.connector,
        )

    def save_model(self, request, obj, form, change):
        saved = integration_settings_save(
            user=request.user, integration=obj, settings=form.settings
        )
        if saved.records_removed:
            self.message_user(
                request,
                f"{saved.records_removed} records of the previous connector were removed: the "
                "next sync reads the new source from the beginning.",
                messages.WARNING,
            )

    def construct_change_message(self, request, form, formsets, add=False):
        # Never the credential, not even that its field changed: the audit event says what.
        return [{"changed": {"fields": ["connector settings"]}}]

    @admin.display(description="organization", ordering="client__organization__name")
    def organization(self, integration: Integration):
        return integration.client.organization

    @admin.display(description="records", ordering="record_count")
    def record_count(self, integration: Integration) -> int:
        return integration.record_count

    @admin.display(description="client")
    def client_link(self, integration: Integration) -> SafeString | None:
        return _change_link(integration.client)

    @admin.display(description="settings")
    def config_json(self, integration: Integration) -> SafeString:
        return _json(integration.config)

    @admin.display(description="credentials")
    def credentials_state(self, integration: Integration) -> str:
        if not integration.credentials:
            return "none"
        if source_named(integration.connector) is not None:
            return "its secret settings, sealed (never shown)"
        return f"set, sent as the {integration.credentials_header} header (value never shown)"

    @admin.display(description="last sync")
    def last_sync_numbers(self, integration: Integration) -> str:
        sync = integration.last_sync
        if not sync:
            return "-"
        return (
            f"{sync.get('state', '?')}: {sync.get('pages', 0)} pages, "
            f"{sync.get('created', 0)} new, {sync.get('updated', 0)} updated"
        )

    @admin.display(description="last sync")
    def last_sync_table(self, integration: Integration) -> SafeString | str:
        sync = integration.last_sync
        if not sync:
            return "never synced"
        run = WorkflowRun.objects.filter(pk=sync.get("run")).only("workflow_id").first()
        rows = [
            ("state", sync.get("state", "")),
            *([("error", sync["error"])] if sync.get("error") else []),
            ("at", _moment(sync.get("at"))),
            ("full resync", "yes" if sync.get("full") else "no, continued from the cursor"),
            ("pages", sync.get("pages", 0)),
            ("records fetched", sync.get("fetched", 0)),
            *[
                (f"… from {stream}", count)
                for stream, count in (sync.get("streams") or {}).items()
                if isinstance(count, int)
            ],
            ("created", sync.get("created", 0)),
            ("updated", sync.get("updated", 0)),
            # The whole state is the integration's cursor above; its start says enough here.
            ("started from cursor", _shortened(sync.get("started_from")) or "the beginning"),
            ("run", _change_link(run, run.workflow_id) if run else "-"),
        ]
        return _table(["", "last sync"], rows)


@admin.register(ModelVersion)
class ModelVersionAdmin(PlatformRecordAdmin):
    list_display = [
        "__str__",
        "organization",
        "kind",
        "version",
        "training_rows",
        "active",
        "roc_auc",
        "accuracy",
        "silhouette",
        "created_at",
    ]
    list_filter = [*PlatformRecordAdmin.list_filter, "kind", "active"]
    fields = [
        "organization",
        "kind",
        "version",
        "active",
        "training_rows",
        "metrics_table",
        "params_json",
        "parameters_json",
        "run_link",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return model_version_list(user=request.user)

    @admin.display(description="ROC AUC")
    def roc_auc(self, version: ModelVersion):
        return version.metrics.get("roc_auc")

    @admin.display(description="accuracy")
    def accuracy(self, version: ModelVersion):
        return version.metrics.get("accuracy")

    @admin.display(description="silhouette")
    def silhouette(self, version: ModelVersion):
        return version.metrics.get("silhouette")

    @admin.display(description="metrics")
    def metrics_table(self, version: ModelVersion) -> SafeString:
        if not version.metrics:
            return self.get_empty_value_display()
        # Known metrics first, in METRIC_LABELS' order; anything newer after them.
        keys = [key for key in METRIC_LABELS if key in version.metrics]
        keys += sorted(set(version.metrics) - set(METRIC_LABELS))
        rows = (
            (METRIC_LABELS.get(key, key.replace("_", " ")), _metric_text(version.metrics[key]))
            for key in keys
        )
        return _table(["metric", "value"], rows)

    @admin.display(description="training parameters")
    def params_json(self, version: ModelVersion) -> SafeString:
        return _json(version.params)

    @admin.display(description="fitted parameters")
    def parameters_json(self, version: ModelVersion) -> SafeString:
        return _json(version.parameters)

    @admin.display(description="trained by run")
    def run_link(self, version: ModelVersion) -> SafeString | None:
        return _change_link(version.run, version.run.workflow_id)


@admin.register(Campaign)
class CampaignAdmin(PlatformRecordAdmin):
    list_display = [
        "name",
        "organization",
        "channel",
        "audience_size",
        "min_churn_risk",
        "segment",
        "scored_with",
        "created_at",
    ]
    list_filter = [*PlatformRecordAdmin.list_filter, "channel"]
    search_fields = ["name"]
    fields = [
        "name",
        "organization",
        "channel",
        "min_churn_risk",
        "segment",
        "scored_with_link",
        "segmented_with_link",
        "run_link",
        "created_at",
        "audience_size",
        "audience_table",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return campaign_list(user=request.user)

    @admin.display(description="audience", ordering="audience_size")
    def audience_size(self, campaign: Campaign) -> int:
        return campaign.audience_size

    @admin.display(description="scored with")
    def scored_with_link(self, campaign: Campaign) -> SafeString | str:
        # Campaigns made before churn models had an active version were scored by a
        # baseline model when none had been trained.
        return _change_link(campaign.scored_with) or "baseline churn model"

    @admin.display(description="segmented with")
    def segmented_with_link(self, campaign: Campaign) -> SafeString | None:
        # Only a campaign for a segment has one (the active clustering model then).
        return _change_link(campaign.segmented_with)

    @admin.display(description="created by run")
    def run_link(self, campaign: Campaign) -> SafeString | None:
        return _change_link(campaign.run, campaign.run.workflow_id)

    @admin.display(description="audience members")
    def audience_table(self, campaign: Campaign) -> SafeString:
        members = campaign_audience(campaign=campaign, limit=AUDIENCE_SHOWN)
        if not members:
            return self.get_empty_value_display()
        table = _table(
            ["email", "churn risk"],
            ((member.email, f"{member.churn_risk:.2f}") for member in members),
        )
        return format_html(
            "<p>The {} riskiest of {}.</p>{}", len(members), campaign.audience_size, table
        )
