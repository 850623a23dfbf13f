"""An Airbyte connector's settings as form fields, made from its own spec.

Each top-level property of the spec's JSON schema becomes a field: text, a number, a
checkbox, a choice for an enum, a password input for a secret (write-only: left empty, the
stored one stays), and a JSON text area for what a plain input can't hold (nested objects,
`oneOf` alternatives, lists). Required properties are required, except secrets already
stored. The spec's descriptions are the help texts (tags stripped: they come from the
connector's package).
"""

import json
from typing import Any

from django import forms
from django.utils.html import strip_tags

from orchestration.platform.airbyte import spec
from orchestration.platform.airbyte.secrets import MASK
from orchestration.platform.airbyte.sources import Source

PREFIX = "setting__"


class SettingJSONEncoder(json.JSONEncoder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "indent": 2})


def setting_fields(source: Source) -> dict[str, forms.Field]:
    """The form fields of `source`'s settings, named PREFIX + the property's name, in the
    spec's order."""
    schema = spec.schema_of(source)
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    ordered = sorted(properties.items(), key=lambda item: (item[1].get("order", 1000), item[0]))
    return {
        PREFIX + name: _field(name, prop, name in required)
        for name, prop in ordered
        if isinstance(prop, dict) and name != spec.MANIFEST_KEY
    } | (
        {PREFIX + spec.MANIFEST_KEY: _json_field(properties[spec.MANIFEST_KEY], True)}
        if spec.MANIFEST_KEY in properties
        else {}
    )


def _field(name: str, prop: dict[str, Any], required: bool) -> forms.Field:
    kind = prop.get("type")
    common = {
        "label": prop.get("title") or name,
        "help_text": strip_tags(prop.get("description") or "")[:500],
    }
    if prop.get("airbyte_secret"):
        return forms.CharField(
            required=False,
            strip=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            **{**common, "help_text": "Secret, write-only: leave empty to keep the stored one."},
        )
    if "enum" in prop:
        choices = [(value, value) for value in prop["enum"]]
        return forms.TypedChoiceField(
            choices=([] if required else [("", "-")]) + choices, required=required, **common
        )
    if kind == "boolean":
        return forms.BooleanField(required=False, **common)
    if kind == "integer":
        return forms.IntegerField(
            required=required,
            min_value=prop.get("minimum"),
            max_value=prop.get("maximum"),
            **common,
        )
    if kind == "number":
        return forms.FloatField(
            required=required,
            min_value=prop.get("minimum"),
            max_value=prop.get("maximum"),
            **common,
        )
    if kind == "string":
        return forms.CharField(required=required, strip=True, **common)
    return _json_field(prop, required, **common)


def _json_field(prop: dict[str, Any], required: bool, **common) -> forms.Field:
    help_text = common.pop("help_text", "") or strip_tags(prop.get("description") or "")[:500]
    return forms.JSONField(
        required=required,
        encoder=SettingJSONEncoder,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70, "class": "vLargeTextField"}),
        help_text=(help_text + " As JSON; secrets inside show as " + MASK + " and stay.").strip(),
        **common,
    )


def setting_initial(source: Source, config: dict[str, Any]) -> dict[str, Any]:
    """The fields' initial values from a stored (masked) configuration: secrets stay empty."""
    fields = setting_fields(source)
    return {
        name: config[name[len(PREFIX) :]]
        for name, field in fields.items()
        if name[len(PREFIX) :] in config and not isinstance(field.widget, forms.PasswordInput)
    }


def config_from_settings(
    source: Source, cleaned: dict[str, Any], stored_secrets: set[str]
) -> dict[str, Any]:
    """The configuration the fields say: empty ones left out (the spec's defaults apply), an
    empty secret as MASK when one is stored (it stays)."""
    config: dict[str, Any] = {}
    for name, field in setting_fields(source).items():
        value = cleaned.get(name)
        key = name[len(PREFIX) :]
        if isinstance(field.widget, forms.PasswordInput):
            if value or key in stored_secrets:
                config[key] = value or MASK
        elif isinstance(field, forms.BooleanField) or value not in (None, ""):
            config[key] = value
    return config
