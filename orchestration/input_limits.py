"""Input no view should see: refused with a 400 that says why, before any view or query runs.

- A NUL character in the path, a query parameter, a header or (outside the API, whose
  serializers check their own fields) a form field: PostgreSQL refuses NUL in text, so any
  of them reaching a query (an admin filter or choice, a session or token lookup) would be
  a 500 there.
- More query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS (Django's TooManyFieldsSent).
- An admin search longer than MAX_SEARCH_LENGTH: SQLite refuses LIKE patterns beyond 50,000
  bytes, and no one searches for more than a workflow id. The API's filters bound their own
  values (orchestration/api/filters.py).

Under /api/ every refusal and every error is JSON (`{"detail": ...}`), also where Django
itself answers (an unknown path's 404, a 400 for a disallowed host, a 500).

And a last line of defence: a value the ORM can't use (Django's ValidationError escaping a
view, e.g. an admin action's selection with a malformed UUID) or can't store (an
OverflowError: an integer or a time out of the database's range) is the caller's input,
so a 400, never a 500.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework.response import Response

logger = logging.getLogger(__name__)

MAX_SEARCH_LENGTH = 200
# The admin's search box (changelists) and its autocomplete widgets.
ADMIN_SEARCH_PARAMETERS = ("q", "term")
API_PREFIX = "/api/"
ADMIN_PREFIX = "/admin/"
NUL = "\x00"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def too_many(what: str) -> str:
    """The message for more query parameters or form fields than Django accepts."""
    return f"Too many {what}: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are accepted."


def too_large(what: str) -> str:
    """The message for a body over Django's in-memory limit (a 413)."""
    return f"The {what} is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


class Refused(Exception):
    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail, self.status = detail, status


def check(request) -> None:
    """Raises Refused, saying why, for a request no view should see."""
    if NUL in request.path:
        raise Refused("The path contains a NUL character.")
    for name, value in request.META.items():
        if (name.startswith("HTTP_") or name == "CONTENT_TYPE") and NUL in str(value):
            header = name.removeprefix("HTTP_").replace("_", "-").title()
            raise Refused(f"The {header} header contains a NUL character.")
    try:
        parameters = list(request.GET.lists())
    except TooManyFieldsSent:
        raise Refused(too_many("query parameters")) from None
    for name, values in parameters:
        if NUL in name or any(NUL in value for value in values):
            raise Refused(f"The query parameter {name!r} contains a NUL character.")
    if request.path_info.startswith(ADMIN_PREFIX):
        for name in ADMIN_SEARCH_PARAMETERS:
            if len(request.GET.get(name, "")) > MAX_SEARCH_LENGTH:
                raise Refused(f"Search text is limited to {MAX_SEARCH_LENGTH} characters.")
    if (
        request.method == "POST"
        and not is_api(request)
        and request.content_type in FORM_CONTENT_TYPES
    ):
        try:
            fields = list(request.POST.lists())
        except TooManyFieldsSent:
            raise Refused(too_many("form fields")) from None
        except RequestDataTooBig:
            raise Refused(too_large("form"), 413) from None
        except MultiPartParserError as error:
            raise Refused(f"The form can't be read: {error}") from None
        for name, values in fields:
            if NUL in name or any(isinstance(v, str) and NUL in v for v in values):
                raise Refused(f"The form field {name!r} contains a NUL character.")


def error_response(request, status: int, detail: str, code: str = "") -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": detail, **({"code": code} if code else {})}, status=status)
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


class InputLimitsMiddleware:
    """Refuses the input above with a 400; makes every error answer under /api/ JSON like
    DRF's (an unknown /api/ path is a JSON 404), but for the browsable API's HTML pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check(request)
        except Refused as refused:
            logger.info("refused %s %s: %s", request.method, request.path[:200], refused.detail)
            code = "payload_too_large" if refused.status == 413 else "invalid_request"
            return error_response(request, refused.status, refused.detail, code)
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if is_api(request) and response.status_code >= 400 and "json" not in content_type:
            if isinstance(response, Response):
                if content_type.startswith("text/html"):
                    return response  # DRF's browsable API, for a browser that asked for it
                data = response.data  # DRF's message, rendered by another renderer (the schema's)
            else:
                data = None  # Django's own: an unknown path's 404, a 500
            if not isinstance(data, dict):
                data = {
                    "detail": "Not found."
                    if response.status_code == 404
                    else response.reason_phrase
                }
            json_response = JsonResponse(data, status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, ValidationError):
            detail = "Invalid value: " + " ".join(exception.messages)
        elif isinstance(exception, OverflowError):
            detail = "A value is out of the range the console can store."
        else:
            return None
        logger.warning("refused %s %s: %r", request.method, request.path[:200], exception)
        return error_response(request, 400, detail, "invalid")
