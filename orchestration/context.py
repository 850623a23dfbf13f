"""Who and where an operation comes from, carried to the audit log without threading it
through every call. The middleware sets it per request; commands and the worker leave it empty."""

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


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


def client_address(request) -> str | None:
    """The address of the client that sent `request`, the one thing the throttles, the login
    lockout, the audit log and the logs all go by.

    `OMNIFY_TRUSTED_PROXIES` says how many proxies (an ingress, a load balancer) stand in front
    of the console and append to `X-Forwarded-For`. With 0 (the default) the header is ignored
    entirely: anyone can send it. With n, the n-th address from the right is the one the
    outermost trusted proxy saw; whatever a caller put further left is theirs to choose and
    never read. This is DRF's rule for `NUM_PROXIES`, which is set from the same setting, so
    DRF's own `get_ident` agrees. A value that isn't an IP address (a misconfigured proxy)
    falls back to the peer's address rather than reaching the audit log's address column.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.OMNIFY_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = forwarded.split(",")
        client = hops[-min(proxies, len(hops))].strip()
        if _is_address(client):
            return client
    return remote if _is_address(remote) else None


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
