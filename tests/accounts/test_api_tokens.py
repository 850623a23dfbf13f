"""API tokens with a lifecycle (orchestration.services.tokens, django-rest-knox): issued by
`POST /api/auth/token` with an expiry, stored hashed, several per user with names, revoked by
`DELETE /api/auth/token`, by an admin, and by a password change; all of it audited."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from orchestration.models import AuditEvent

TOKEN = "/api/auth/token"
RUNS = "/api/temporal/workflows"


def issue(username: str = "acme-viewer", name: str | None = None) -> dict:
    body = {"username": username, "password": "pw"}
    if name is not None:
        body["name"] = name
    response = APIClient().post(TOKEN, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_token(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def works(secret: str) -> bool:
    status = with_token(secret).get(RUNS).status_code
    assert status in (200, 401)
    return status == 200


def test_a_token_comes_with_its_expiry_and_is_stored_hashed(users):
    before = timezone.now()
    answer = issue(name="ci")
    assert set(answer) == {"token", "name", "expiry"}
    assert answer["name"] == "ci"
    assert answer["token"].startswith("omnify_")
    expiry = ApiToken.objects.get().expiry
    assert timedelta(days=30) <= expiry - before < timedelta(days=30, minutes=1)
    assert answer["expiry"].startswith(expiry.strftime("%Y-%m-%dT%H:%M"))
    assert works(answer["token"])

    # Only a digest is stored: the secret is in no column of the table.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(answer["token"] in str(value) for value in rows[0])

    event = AuditEvent.objects.get(action="token.create")
    assert event.actor_username == "acme-viewer"
    assert event.payload["name"] == "ci"
    assert answer["token"].startswith(event.payload["token"])  # its first characters only
    assert answer["token"] not in str(event.payload)


def test_each_login_issues_a_new_token(users):
    first, second = issue()["token"], issue()["token"]
    assert first != second
    assert works(first) and works(second)


def test_an_expired_token_is_refused(users):
    secret = issue()["token"]
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert with_token(secret).get(RUNS).status_code == 401
    assert not ApiToken.objects.exists()  # deleted when it was used


def test_a_request_reads_only_its_own_token_and_a_new_one_sweeps_the_expired(users):
    expired, valid = issue(name="old")["token"], issue(name="current")["token"]
    ApiToken.objects.filter(name="old").update(expiry=timezone.now() - timedelta(seconds=1))
    assert works(valid)
    # knox would sweep the user's other tokens on every request; that's left to issuing.
    assert set(ApiToken.objects.values_list("name", flat=True)) == {"old", "current"}
    issue(name="next")
    assert set(ApiToken.objects.values_list("name", flat=True)) == {"current", "next"}
    assert not works(expired)


def test_delete_revokes_the_token_it_is_sent_with(users):
    secret = issue()["token"]
    client = with_token(secret)
    assert client.delete(TOKEN).status_code == 204
    assert client.get(RUNS).status_code == 401
    assert client.delete(TOKEN).status_code == 401
    event = AuditEvent.objects.get(action="token.revoke")
    assert (event.actor_username, event.payload["reason"]) == ("acme-viewer", "logout")


def test_delete_needs_a_token(users):
    client = APIClient()
    assert client.delete(TOKEN).status_code == 401
    client.force_login(users["acme-viewer"])  # a session is not a token to revoke
    assert client.delete(TOKEN).status_code == 401


def test_named_tokens_are_revoked_one_at_a_time(users):
    ci, cron = issue(name="ci")["token"], issue(name="cron")["token"]
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["ci", "cron"]
    assert with_token(ci).delete(TOKEN).status_code == 204
    assert not works(ci)
    assert works(cron)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["cron"]


def test_a_password_change_revokes_every_token_of_that_user(users):
    mine = [issue(name=name)["token"] for name in ("a", "b")]
    theirs = issue("acme-manager")["token"]
    user = users["acme-viewer"]
    user.set_password("a-new-password-1")
    user.save()
    assert not any(works(secret) for secret in mine)
    assert works(theirs)
    reasons = AuditEvent.objects.filter(action="token.revoke").values_list(
        "payload__reason", flat=True
    )
    assert list(reasons) == ["password_changed"] * 2


def test_saving_a_user_otherwise_revokes_nothing(users):
    secret = issue()["token"]
    user = users["acme-viewer"]
    user.first_name = "Vi"
    user.save()
    assert works(secret)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw")


def test_an_admin_revokes_tokens_audited(users, superuser):
    secret = issue(name="ci")["token"]
    other = issue("acme-manager")["token"]
    admin = Client()
    admin.force_login(superuser)
    token = ApiToken.objects.get(name="ci")
    response = admin.post(
        "/admin/accounts/apitoken/", {"action": "revoke", ACTION_CHECKBOX_NAME: [token.pk]}
    )
    assert response.status_code == 302
    assert not works(secret)
    assert works(other)
    event = AuditEvent.objects.get(action="token.revoke")
    assert event.actor_username == "root"
    assert event.payload == {
        "user": "acme-viewer",
        "name": "ci",
        "token": token.token_key,
        "reason": "admin",
    }


def test_staff_see_and_revoke_only_their_own_tokens(users):
    issue("acme-admin", name="mine")
    issue("acme-manager", name="theirs")
    client = Client()
    client.force_login(users["acme-admin"])
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert [token.name for token in page.context["cl"].result_list] == ["mine"]
    theirs = ApiToken.objects.get(name="theirs")
    assert client.get(f"/admin/accounts/apitoken/{theirs.pk}/change/").status_code in (302, 404)
    client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", ACTION_CHECKBOX_NAME: [theirs.pk]}
    )
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_the_schema_documents_the_token_endpoint(users):
    client = APIClient()
    client.force_authenticate(users["acme-viewer"])
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operations = next(item for path, item in schema["paths"].items() if "auth/token" in path)
    post = operations["post"]
    assert {"200", "400", "429"} <= set(post["responses"])
    answer = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]
    assert {"token", "name", "expiry"} <= set(fields)
    assert fields["expiry"]["format"] == "date-time"
    assert {"204", "401"} <= set(operations["delete"]["responses"])


def test_seeding_the_demo_again_keeps_the_demo_users_tokens(db, capsys):
    """`make run` seeds on every start: an unchanged password is no password change."""
    from django.core.management import call_command

    call_command("seed_demo")
    response = APIClient().post(TOKEN, {"username": "acme-manager", "password": "omnify-demo"})
    secret = response.json()["token"]
    call_command("seed_demo")
    assert works(secret)
