"""The API's OpenAPI document, kept true to what the API answers (schemathesis checks it in
CI, tests/orchestration/test_api_fuzz.py): errors every operation can give are documented
on every operation, serializers that refuse unknown fields say so, nullable fields are
typed nullable."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, is_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .serializers import ErrorSerializer

# Fields a form (urlencoded or multipart) can't carry.
NESTED_FIELDS = (serializers.Serializer, serializers.DictField, serializers.ListField)

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error(description: str, schema: dict | None = None) -> dict:
    return {
        "content": {"application/json": {"schema": schema or ERROR_REF}},
        "description": description,
    }


class ConsoleAutoSchema(AutoSchema):
    """Adds the answers any operation can give, where a view didn't document them: 400 (a
    refused input: a NUL character, too many query parameters, malformed JSON), 401/403 for
    operations that need a login, 404 for paths naming a run, 413/415 for request bodies, 429
    for throttled ones, and 503 `database_unavailable`."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.resolve_serializer(ErrorSerializer, "response")  # the Error component
        responses = operation.setdefault("responses", {})
        common = {
            "400": _error(
                "Invalid input: `{field: [messages]}`, or `{detail}` for a request refused "
                "whole (malformed JSON, a NUL character, too many query parameters).",
                {"type": "object", "additionalProperties": {}},
            ),
            "503": _error("The database is busy or unavailable (code database_unavailable)."),
        }
        permissions = self.view.get_permissions()
        if permissions and not any(isinstance(p, AllowAny) for p in permissions):
            common["401"] = _error("No or invalid credentials.")
            common["403"] = _error("The caller's role doesn't allow this.")
        if "{" in path:
            common["404"] = _error("No such run in the caller's organizations.")
        elif method == "GET" and self._is_list_view() and self._get_paginator():
            common["404"] = _error("A page past the last one (`Invalid page.`).")
        if "requestBody" in operation:
            common["413"] = _error("The request body is too large.")
            common["415"] = _error("The request body's content type isn't accepted.")
        if getattr(self.view, "throttle_classes", None):
            common["429"] = _error("Too many requests; try again later (Retry-After).")
        for status, response in common.items():
            responses.setdefault(status, response)
        # A filter given an empty value is no filter (django-filter's rule), and an empty
        # page token is the first page.
        filterset = getattr(self.view, "filterset_class", None)
        ignored = {*(filterset.base_filters if filterset else ()), "page_token"}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in ignored:
                parameter["allowEmptyValue"] = True
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def map_parsers(self):
        """A body with nested objects or lists is JSON only; a flat one may be a form too."""
        parsers = super().map_parsers()
        serializer = self.get_request_serializer()
        if is_serializer(serializer) and any(
            isinstance(field, NESTED_FIELDS) for field in force_instance(serializer).fields.values()
        ):
            return [media_type for media_type in parsers if media_type == "application/json"]
        return parsers


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A StrictSerializer refuses fields it doesn't know: its request body says
    `additionalProperties: false`."""

    target_class = "orchestration.workflows.input_schema.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class WorkflowStartSchema(ConsoleAutoSchema):
    """The start view serves every workflow type: each route's operation is described by
    its type's unit."""

    def get_summary(self):
        return f"Start a {self.view.unit.label.lower()} run"

    def get_description(self):
        return f"{self.view.unit.definition.description}\n\n{super().get_description()}"


def strip_optional_trailing_slashes(result, generator, request, public):
    """Routes accept a path with or without a trailing slash (`/?$`); document the canonical
    form without it, as the API's users write it."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result


class ApiTokenScheme(KnoxTokenScheme):
    """The console's token authentication (api/authentication.py) is knox's, documented as
    knox's."""

    target_class = "orchestration.api.authentication.ApiTokenAuthentication"
