"""Throttles counted per client address."""

from rest_framework.throttling import ScopedRateThrottle

from orchestration.context import client_address


class ClientAddressThrottle(ScopedRateThrottle):
    """DRF's scoped throttle counted per `client_address` (X-Forwarded-For only from trusted
    proxies), in the default cache, the database, which every process and pod shares."""

    def get_ident(self, request):
        return client_address(request) or "unknown"
