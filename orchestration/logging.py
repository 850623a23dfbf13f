"""Structured logging: every record carries the current request's id (and client IP), so a
log line, the response's X-Request-ID and the audit event of one request can be matched."""

import logging

from django.core.exceptions import PermissionDenied

from .context import current_request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        if not getattr(record, "request_id", None):
            record.request_id = context.request_id or None
        if not getattr(record, "client_ip", None):
            record.client_ip = context.client_ip
        return True


class ExpectedRefusalFilter(logging.Filter):
    """A refused request (403) is an expected outcome: Django logs it as a WARNING with the
    PermissionDenied traceback; make it one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, PermissionDenied):
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True
