"""Who and where an operation comes from, carried to the audit log without threading it
through every call. The middleware sets it per request; commands and the worker leave it empty."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None


_NO_REQUEST = RequestContext()
request_context: ContextVar[RequestContext | None] = ContextVar(
    "omnify_request_context", default=None
)


def current_request_context() -> RequestContext:
    return request_context.get() or _NO_REQUEST
