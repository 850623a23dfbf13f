"""The API's parsers: DRF's, bounded. Python's json module recurses once per nesting level
and raises RecursionError (not ValueError, so DRF lets it through as a 500) a thousand levels
down, and everything that walks the parsed data afterwards (validation, error messages,
`repr`) recurses too; DRF also reads a JSON body whole, whatever its size."""

import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import FormParser, JSONParser

from orchestration.input_limits import too_large

# No request body of the API nests deeper than 4 levels; leave room for clients' habits.
MAX_JSON_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def read_bounded(stream) -> bytes:
    """The body, if it is within Django's limit for a body held in memory
    (DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to `request.body` but DRF's parsers
    don't); 413 otherwise."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(too_large("request body"))
    return body


def nesting_exceeds(data, limit: int) -> bool:
    """Whether `data` has lists or objects nested more than `limit` deep (iteratively: it
    mustn't recurse itself)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with a size limit (413 beyond DATA_UPLOAD_MAX_MEMORY_SIZE) and a
    nesting limit (400 beyond MAX_JSON_DEPTH levels)."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream)
        too_deep = f"JSON parse error - nested more than {self.max_depth} levels deep."
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if nesting_exceeds(data, self.max_depth):
            raise ParseError(too_deep)
        return data


class BoundedFormParser(FormParser):
    """DRF's FormParser with the same size limit (Django limits the number of fields)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(read_bounded(stream)), media_type, parser_context)
