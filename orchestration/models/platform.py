"""Records the workflows' activities create. Each one names the run that created it, which
is what makes the activities idempotent: a retried activity finds its earlier row."""

from django.db import models

from orchestration.contract.vocabulary import Channel, EyesModel, Platform


class Client(models.Model):
    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active"
        OFFBOARDED = "offboarded", "Offboarded"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="clients"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ONBOARDING)
    created_by_run = models.OneToOneField(
        "orchestration.WorkflowRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_client",
    )
    offboarded_by_run = models.OneToOneField(
        "orchestration.WorkflowRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offboarded_client",
    )
    # What offboarding did, step by step (so a retried step answers what it did before).
    offboarding = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="unique_client_email")
        ]

    def __str__(self) -> str:
        return self.name


class Integration(models.Model):
    """Where one client's records on one platform come from: a connector (by name, see
    orchestration.platform.connectors) and its configuration. Credentials are kept encrypted
    and never leave the console's database except to the connector."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="integrations")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    connector = models.CharField(max_length=32, default="demo")
    config = models.JSONField(default=dict, blank=True)
    # A source connector's streams its syncs read, {name: "incremental" | "full_refresh"};
    # empty: those its normalization reads (every stream it offers when it has none).
    streams = models.JSONField(default=dict, blank=True)
    # orchestration.platform.credentials: ciphertext of {"header": ..., "value": ...}.
    credentials = models.TextField(blank=True, editable=False)
    # The header the credentials are sent under: readable, so pages can say what is set.
    credentials_header = models.CharField(max_length=100, blank=True)
    # Where the next incremental sync continues; empty = from the beginning.
    cursor = models.TextField(blank=True)
    # The last sync's numbers: fetched, created, updated, pages, cursor, full, run.
    last_sync = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Webhooks (orchestration.platform.webhooks): the unguessable id in the delivery URL, how
    # deliveries are signed, the signing secret (sealed as credentials are), and when the
    # sync collecting the latest burst of deliveries begins.
    webhook_id = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    webhook_scheme = models.CharField(max_length=16, blank=True, editable=False)
    webhook_secret = models.TextField(blank=True, editable=False)
    webhook_sync_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "platform"], name="unique_integration")
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.get_platform_display()}"


class Dashboard(models.Model):
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="dashboard")
    title = models.CharField(max_length=200)
    widgets = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class SyncedRecord(models.Model):
    """One customer's metrics as one platform reported them."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="records")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    external_id = models.CharField(max_length=255)
    email = models.EmailField()
    sessions = models.PositiveIntegerField()
    spend = models.DecimalField(max_digits=12, decimal_places=2)
    days_since_last_activity = models.PositiveIntegerField()
    support_tickets = models.PositiveIntegerField()
    churned = models.BooleanField()
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "platform", "external_id"], name="unique_synced_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class RawRecord(models.Model):
    """One record as an integration's source connector emitted it, before normalization
    (orchestration.platform.normalization). Personal data: never logged, audited or put
    into workflow input; it goes with its integration, and with its client's offboarding."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="raw_records"
    )
    stream = models.CharField(max_length=200)
    # The record's primary key in its stream, as JSON (a digest when it has none).
    key = models.CharField(max_length=255)
    data = models.JSONField()
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "stream", "key"], name="unique_raw_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}:{self.key}"


class PlatformMetric(models.Model):
    """One day's total of one metric an analytics or ad platform reported for an
    integration (orchestration.platform.metrics): no personal data, it goes with its
    integration."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="metrics")
    day = models.DateField()
    name = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "day", "name"], name="unique_platform_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.day}: {self.value}"


class ConnectorLog(models.Model):
    """What a source connector said during one attempt of a sync (its last LOG messages and
    the end of its stderr, each line truncated, the settings' secrets masked), kept for
    diagnosis and shown on the sync's run page; it goes with its integration."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="connector_logs"
    )
    # The sync's run (none for the demo seed's syncs).
    run = models.ForeignKey(
        "orchestration.WorkflowRun",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connector_logs",
    )
    lines = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.integration_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class ModelVersion(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="model_versions"
    )
    kind = models.CharField(max_length=16, choices=EyesModel.choices)
    version = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    parameters = models.JSONField(default=dict, help_text="Fitted coefficients or centroids.")
    training_rows = models.PositiveIntegerField()
    # The version campaigns use: set (and taken from the one before) only when training
    # completes, so a failed or cancelled retrain never changes what scores customers.
    active = models.BooleanField(default=False)
    run = models.OneToOneField(
        "orchestration.WorkflowRun", on_delete=models.PROTECT, related_name="model_version"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "version"], name="unique_model_version"
            ),
            models.UniqueConstraint(
                fields=["organization", "kind"],
                condition=models.Q(active=True),
                name="one_active_model_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class Campaign(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # The audience: customers at or above a churn risk, or one segment of a clustering model.
    min_churn_risk = models.FloatField(null=True, blank=True)
    segment = models.PositiveIntegerField(null=True, blank=True)
    scored_with = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segmented_with = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.OneToOneField(
        "orchestration.WorkflowRun", on_delete=models.PROTECT, related_name="campaign"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="audience")
    email = models.EmailField()
    churn_risk = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="unique_campaign_member")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.churn_risk:.2f})"
