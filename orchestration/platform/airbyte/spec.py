"""A source connector's settings are its own `spec`: a JSON schema (draft 7) of its config.

The spec of each pinned release is kept in `specs/<name>.json` (what `<command> spec`
printed; `tests/orchestration/test_airbyte_runtime.py` checks it against the installed
connector), so the web process validates an integration's settings without a connector
installed or started.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from .sources import Source

SPECS = Path(__file__).resolve().parent / "specs"


@cache
def spec_of(source: Source) -> dict[str, Any]:
    return json.loads((SPECS / f"{source.name}.json").read_text())


def schema_of(source: Source) -> dict[str, Any]:
    return spec_of(source)["connectionSpecification"]


def config_errors(source: Source, config: Any) -> dict[str, list[str]]:
    """What is wrong with `config`, by field path (dotted; "" for the whole), in the
    spec's words; empty when it is valid."""
    errors: dict[str, list[str]] = {}
    for error in Draft7Validator(schema_of(source)).iter_errors(config):
        parts = [str(part) for part in error.absolute_path]
        if error.validator == "required":  # said of the object; it belongs to the field
            parts.append(error.message.split("'")[1] if "'" in error.message else "")
        path = ".".join(part for part in parts if part)
        errors.setdefault(path or "non_field_errors", []).append(_message(error))
    return errors


def with_defaults(source: Source, config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the spec's defaults for top-level fields it leaves out."""
    properties = schema_of(source).get("properties", {})
    defaults = {
        name: field["default"]
        for name, field in properties.items()
        if isinstance(field, dict) and "default" in field
    }
    return {**defaults, **config}


# Where a declarative source's config carries its manifest, whose spec names more secrets.
MANIFEST_KEY = "__injected_declarative_manifest"


def secret_fields(source: Source, config: dict[str, Any] | None = None) -> set[str]:
    """The names of the fields the spec marks `airbyte_secret`, at any depth (in `oneOf`
    alternatives too), and those of a declarative manifest's own spec in `config`: what is
    masked in anything shown or logged."""
    found = _secrets_in(schema_of(source))
    manifest = (config or {}).get(MANIFEST_KEY)
    if isinstance(manifest, dict):
        found |= _secrets_in((manifest.get("spec") or {}).get("connection_specification"))
    return found


def _secrets_in(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for name, field in (schema.get("properties") or {}).items():
            if isinstance(field, dict) and field.get("airbyte_secret"):
                found.add(name)
        for value in schema.values():
            found |= _secrets_in(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _secrets_in(item)
    return found


def _message(error) -> str:
    # Never jsonschema's own text: it repeats the offending value, and a secret must not travel.
    expected = error.validator_value
    match error.validator:
        case "required":
            return "This field is required."
        case "type":
            kinds = expected if isinstance(expected, list) else [expected]
            return f"Must be of type {' or '.join(map(str, kinds))}."
        case "minimum":
            return f"Must be at least {expected}."
        case "maximum":
            return f"Must be at most {expected}."
        case "enum":
            return f"Must be one of: {', '.join(map(str, expected))[:300]}."
        case "const":
            return f"Must be {json.dumps(expected)[:200]}."
        case "oneOf" | "anyOf":
            titles = [
                str(option.get("title", "?")) for option in expected if isinstance(option, dict)
            ]
            return f"Must match one of: {', '.join(titles)[:300]}."
        case "pattern":
            return f"Must match the pattern {expected}."
        case "minLength" | "maxLength" | "minItems" | "maxItems" | "format":
            return f"Must satisfy {error.validator} {json.dumps(expected)[:200]}."
        case _:
            return f"Does not satisfy {error.validator}."
