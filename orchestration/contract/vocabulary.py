"""The business words the workflows and the console share: platforms, EYES models, campaign
channels. Django-free (the sandbox imports it); models use them as field choices."""

from enum import StrEnum


class _Choices(StrEnum):
    """A StrEnum whose members may name their label, as Django's TextChoices do:
    `GA4 = "ga4", "GA4"`. Without one, the label is the value in words ("Clustering")."""

    label: str

    def __new__(cls, value: str, label: str | None = None) -> "_Choices":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("-", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class Platform(_Choices):
    GA4 = "ga4", "GA4"
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"


class EyesModel(_Choices):
    CLUSTERING = "clustering"
    CHURN = "churn"


class Channel(_Choices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"
