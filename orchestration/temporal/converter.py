"""The data converter every client and worker the console builds uses, from settings."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from temporalio.converter import DataConverter

from .codec import PayloadKeys, console_data_converter


def payload_keys() -> PayloadKeys:
    if not settings.TEMPORAL_PAYLOAD_KEYS:
        return PayloadKeys.derived_from(settings.SECRET_KEY)
    try:
        return PayloadKeys.parse(settings.TEMPORAL_PAYLOAD_KEYS)
    except ValueError as error:
        raise ImproperlyConfigured(f"OMNIFY_PAYLOAD_KEYS: {error}") from None


def data_converter() -> DataConverter:
    return console_data_converter(payload_keys())
