"""Structured logging: every record carries the current request's id (and client IP), so a
log line, the response's X-Request-ID and the audit event of one request can be matched."""

import logging

from .context import current_request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request_context()
        if not getattr(record, "request_id", None):
            record.request_id = context.request_id or None
        if not getattr(record, "client_ip", None):
            record.client_ip = context.client_ip
        return True
