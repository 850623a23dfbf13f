"""Where the admin's login page sends a user once logged in: to `next` when it is a path on
this site, to the admin's home (LOGIN_REDIRECT_URL) when `next` is unsafe (another host, or
a scheme other than http(s)), never to Django's default /accounts/profile/, which is a 404
here."""

from urllib.parse import urlencode

import pytest

LOGIN = "/admin/login/"
EVIL_LOGIN = f"{LOGIN}?{urlencode({'next': 'https://evil.example/'})}"

UNSAFE = [
    "https://evil.example/",
    "//evil.example/admin/",
    "http://evil.example/admin/orchestration/workflowrun/",
    "javascript:alert(1)",
]


def login(client, next_url: str, *, in_query: bool):
    # The login form posts to its own address (next in the query) and repeats a safe next
    # in a hidden field; a hand-made request may send it either way.
    if in_query:
        return client.post(
            f"{LOGIN}?{urlencode({'next': next_url})}",
            {"username": "acme-manager", "password": "pw"},
        )
    return client.post(LOGIN, {"username": "acme-manager", "password": "pw", "next": next_url})


@pytest.mark.parametrize("in_query", [True, False], ids=["query", "form"])
@pytest.mark.parametrize("next_url", UNSAFE)
def test_an_unsafe_next_lands_on_the_admin_home(client, users, next_url, in_query):
    response = login(client, next_url, in_query=in_query)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert "_auth_user_id" in client.session


@pytest.mark.parametrize("in_query", [True, False], ids=["query", "form"])
def test_a_safe_next_is_followed(client, users, in_query):
    response = login(client, "/admin/orchestration/workflowrun/", in_query=in_query)
    assert response.status_code == 302
    assert response["Location"] == "/admin/orchestration/workflowrun/"


def test_the_login_form_behind_an_unsafe_next_logs_in_to_the_admin_home(client, users):
    # As a browser does it: the page, then its form posted with its hidden next field.
    page = client.get(EVIL_LOGIN)
    assert page.status_code == 200
    assert "evil.example" not in page.context["next"]
    response = client.post(
        EVIL_LOGIN,
        {"username": "acme-manager", "password": "pw", "next": page.context["next"]},
    )
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200
