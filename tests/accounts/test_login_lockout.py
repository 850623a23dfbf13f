"""Login lockout (django-axes): after OMNIFY_LOGIN_FAILURE_LIMIT (5) failed logins for one
username from one address, that pair is refused, the right password included, with a clear
message, until the cool-off passes or an administrator lifts it; lockouts and unlocks are
audited. The admin's login page and the token endpoint count alike."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.test import Client

from accounts.models import ApiToken
from orchestration.models import AuditEvent

LOGIN = "/admin/login/"
TOKEN = "/api/auth/token"
LIMIT = 5
MESSAGE = "Too many failed attempts; try again in 15 minutes or ask an administrator."


def admin_login(client: Client, password: str, username: str = "acme-viewer", **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def lock_out(client: Client, username: str = "acme-viewer", **extra):
    responses = [admin_login(client, "wrong", username, **extra) for _ in range(LIMIT)]
    assert [r.status_code for r in responses[:-1]] == [200] * (LIMIT - 1)  # the form again
    assert responses[-1].status_code == 429  # the failure that locks answers so already
    return responses[-1]


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_after_the_limit_with_a_clear_message(client, users):
    lock_out(client)
    response = admin_login(client, "pw")
    assert response.status_code == 429
    assert MESSAGE in response.content.decode()
    assert int(response["Retry-After"]) > 14 * 60
    assert not logged_in(client)

    events = AuditEvent.objects.filter(action="login.lockout")
    assert events.count() == 1  # one lockout, however many refused attempts follow
    event = events.get()
    assert event.outcome == "denied"
    assert event.payload["username"] == "acme-viewer"
    assert event.payload["ip_address"] == "127.0.0.1" == event.client_ip
    assert event.payload["failures"] == LIMIT


def test_the_lockout_is_per_username_and_address(client, users):
    lock_out(client)
    # Nobody can lock a user out from elsewhere, and one address can't lock out others.
    assert admin_login(Client(), "pw", REMOTE_ADDR="10.0.0.7").status_code == 302
    assert admin_login(Client(), "pw", username="acme-operator").status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, users):
    for _ in range(LIMIT - 1):
        admin_login(client, "wrong")
    assert admin_login(client, "pw").status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert admin_login(client, "wrong").status_code == 200
    assert admin_login(client, "pw").status_code == 302


def test_a_lockout_ends_after_the_cool_off_unaudited(client, users):
    lock_out(client)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert admin_login(client, "pw").status_code == 302
    assert not AuditEvent.objects.filter(action="login.unlock").exists()


@pytest.fixture
def superuser_client(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw")
    client = Client()
    client.force_login(root)
    return client


def test_a_superuser_unlocks_from_the_admin_audited(client, users, superuser_client):
    lock_out(client)
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = superuser_client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", ACTION_CHECKBOX_NAME: attempts},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action="login.unlock")
    assert event.actor_username == "root"
    assert event.payload["username"] == "acme-viewer"
    assert event.payload["ip_address"] == "127.0.0.1"
    assert admin_login(client, "pw").status_code == 302


def test_deleting_the_attempt_in_the_admin_unlocks_too(client, users, superuser_client):
    lock_out(client)
    attempt = AccessAttempt.objects.get()
    response = superuser_client.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="login.unlock").actor_username == "root"
    assert admin_login(client, "pw").status_code == 302


def test_axes_reset_command_unlocks_audited(client, users):
    lock_out(client)
    call_command("axes_reset_username", "acme-viewer")
    event = AuditEvent.objects.get(action="login.unlock")
    assert event.actor is None
    assert event.payload["by"].startswith("manage.py")
    assert admin_login(client, "pw").status_code == 302


def test_organization_admins_get_no_unlock_page(users):
    client = Client()
    client.force_login(users["acme-admin"])
    assert client.get("/admin/axes/accessattempt/").status_code == 403


def test_the_token_endpoint_shares_the_lockout(client, users):
    body = {"username": "acme-viewer", "password": "wrong"}
    statuses = [client.post(TOKEN, body).status_code for _ in range(LIMIT)]
    assert statuses == [400] * (LIMIT - 1) + [429]
    response = client.post(TOKEN, {"username": "acme-viewer", "password": "pw"})
    assert response.status_code == 429
    assert response.json() == {"detail": MESSAGE, "code": "locked_out"}
    assert int(response["Retry-After"]) > 0
    assert not ApiToken.objects.exists()
    # Locked out from the admin as well: one count per username and address.
    assert admin_login(client, "pw").status_code == 429
    assert AuditEvent.objects.filter(action="login.lockout").count() == 1


def test_failures_on_either_path_add_up(client, users):
    for _ in range(LIMIT - 1):
        client.post(TOKEN, {"username": "acme-viewer", "password": "wrong"})
    assert admin_login(client, "wrong").status_code == 429


@pytest.mark.temporal
def test_the_lockout_under_uvicorn(web_server, users):
    """As `make run` serves (ASGI, where axes' middleware runs async), with a new
    X-Forwarded-For on each attempt, which uvicorn must not take for the client's address."""
    import re

    import httpx

    with httpx.Client(base_url=web_server, timeout=30) as http:
        statuses = [
            http.post(
                TOKEN,
                data={"username": "acme-viewer", "password": "wrong"},
                headers={"X-Forwarded-For": f"10.0.0.{n}"},
            ).status_code
            for n in range(LIMIT)
        ]
        assert statuses == [400] * (LIMIT - 1) + [429]
        refused = http.post(TOKEN, data={"username": "acme-viewer", "password": "pw"})
        assert refused.status_code == 429
        assert refused.json() == {"detail": MESSAGE, "code": "locked_out"}

        page = http.get(LOGIN)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = http.post(
            LOGIN,
            data={"username": "acme-viewer", "password": "pw", "csrfmiddlewaretoken": csrf},
        )
        assert login.status_code == 429
        assert MESSAGE in login.text
