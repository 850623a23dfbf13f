"""One client address for everything (orchestration.context.client_address): X-Forwarded-For
is read only from as many proxies as OMNIFY_TRUSTED_PROXIES says; the token endpoint's
throttle counts per that address in the database cache every process shares."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.test import RequestFactory, override_settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from orchestration.context import client_address, current_request_context
from orchestration.middleware import RequestIdMiddleware
from orchestration.models import AuditEvent
from tests.support import ROOT, suite_database_url

TOKEN = "/api/auth/token"
LIMIT = 20  # OMNIFY_TOKEN_THROTTLE's default, 20/minute


def request(forwarded: str | None = None, remote: str = "10.1.1.1"):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def with_proxies(count: int):
    return override_settings(
        OMNIFY_TRUSTED_PROXIES=count,
        REST_FRAMEWORK={**_rest_framework(), "NUM_PROXIES": count},
    )


def _rest_framework() -> dict:
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_drf_counts_the_same_proxies(settings):
    assert settings.OMNIFY_TRUSTED_PROXIES == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.OMNIFY_TRUSTED_PROXIES


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.1.1.1"),
        (0, "6.6.6.6", "10.1.1.1"),  # nobody vouches for the header: ignored
        (0, "6.6.6.6, 7.7.7.7", "10.1.1.1"),
        (1, None, "10.1.1.1"),  # not through the proxy (a probe): the peer
        (1, "6.6.6.6", "6.6.6.6"),
        (1, "6.6.6.6, 7.7.7.7", "7.7.7.7"),  # what the caller wrote on the left is theirs
        (1, "2001:db8::1", "2001:db8::1"),
        (2, "6.6.6.6, 7.7.7.7", "6.6.6.6"),
        (2, "9.9.9.9, 6.6.6.6, 7.7.7.7", "6.6.6.6"),
        (1, "not-an-address", "10.1.1.1"),  # a broken proxy never reaches the audit log
    ],
)
def test_client_address(proxies, forwarded, expected):
    with with_proxies(proxies):
        got = client_address(request(forwarded))
        assert got == expected
        # DRF's own get_ident (any throttle that doesn't use ours) agrees, except that it
        # would count per whatever text a broken proxy sent.
        if forwarded != "not-an-address":
            assert SimpleRateThrottle.get_ident(None, request(forwarded)) == expected
        assert proxies == api_settings.NUM_PROXIES


def test_the_middleware_gives_the_audit_log_and_the_logs_the_client_address():
    """The request context (which audit events and log records read) holds client_address."""
    seen = []
    middleware = RequestIdMiddleware(lambda r: seen.append(current_request_context()) or _ok())
    middleware(request("6.6.6.6"))
    with with_proxies(1):
        middleware(request("6.6.6.6, 7.7.7.7"))
    assert [context.client_ip for context in seen] == ["10.1.1.1", "7.7.7.7"]


def _ok():
    from django.http import HttpResponse

    return HttpResponse()


def test_audit_events_record_the_client_address_not_a_chosen_header(client, users):
    body = {"username": "acme-viewer", "password": "pw"}
    assert client.post(TOKEN, body, HTTP_X_FORWARDED_FOR="6.6.6.6").status_code == 200
    with with_proxies(1):
        assert client.post(TOKEN, body, HTTP_X_FORWARDED_FOR="1.2.3.4, 8.8.8.8").status_code == 200
    addresses = list(
        AuditEvent.objects.filter(action="token.create")
        .order_by("id")
        .values_list("client_ip", flat=True)
    )
    assert addresses == ["127.0.0.1", "8.8.8.8"]


def test_throttle_counts_live_in_the_database_cache():
    assert isinstance(caches["default"], DatabaseCache)


def test_a_new_forwarded_for_per_request_does_not_escape_the_throttle(client, db):
    statuses = [
        client.post(TOKEN, {}, HTTP_X_FORWARDED_FOR=f"10.9.{n // 250}.{n % 250}").status_code
        for n in range(LIMIT + 5)
    ]
    assert statuses[:LIMIT] == [400] * LIMIT  # no credentials: counted, then refused
    assert set(statuses[LIMIT:]) == {429}
    response = client.post(TOKEN, {}, HTTP_X_FORWARDED_FOR="10.200.0.1")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_behind_a_trusted_proxy_each_client_has_its_own_count(client, db):
    with with_proxies(1):
        statuses = [
            client.post(TOKEN, {}, HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 8.8.8.8").status_code
            for n in range(LIMIT + 1)
        ]
        assert statuses[-1] == 429  # the left part is the caller's to choose: same client
        assert client.post(TOKEN, {}, HTTP_X_FORWARDED_FOR="8.8.4.4").status_code == 400


SECOND_PROCESS = textwrap.dedent(
    """
    import os, sys
    import django
    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    setup_test_environment()
    status = Client().post("/api/auth/token", {}).status_code
    print(status, flush=True)
    os._exit(0)  # temporalio's exit trap (docs/testing.md)
    """
)


def test_a_count_made_in_one_process_holds_in_another(client, transactional_db):
    """Another process (another gunicorn worker, another pod) sharing the database sees the
    counts this one made: the 21st request, made there, is refused."""
    assert all(client.post(TOKEN, {}).status_code == 400 for _ in range(LIMIT))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.test",
        "DATABASE_URL": suite_database_url(),
    }
    answer = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.stdout.strip() == "429", answer.stderr[-2000:]
