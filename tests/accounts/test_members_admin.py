"""Organization admins manage their own organizations' members in the admin, by username."""

import pytest

from accounts.models import Membership, Organization
from orchestration.authorization import holds
from orchestration.models import AuditEvent
from orchestration.services.memberships import membership_set_role

ADD = "/admin/accounts/membership/add/"


@pytest.fixture
def acme_admin(client, users):
    client.force_login(users["acme-admin"])
    return client


def test_an_admin_adds_a_member_by_username(acme_admin, users, orgs):
    response = acme_admin.post(
        ADD, {"username": "outsider", "organization": orgs["acme"].pk, "role": "operator"}
    )
    assert response.status_code == 302, response.content
    membership = Membership.objects.get(user=users["outsider"])
    assert (membership.organization, membership.role) == (orgs["acme"], "operator")
    assert holds(users["outsider"], orgs["acme"], "run_standard_workflows")
    event = AuditEvent.objects.filter(action="membership.set").latest("id")
    assert (event.actor_username, event.payload["user"]) == ("acme-admin", "outsider")


@pytest.mark.parametrize(
    ("username", "organization", "field"),
    [("nobody", "acme", "username"), ("outsider", "globex", "organization")],
)
def test_unknown_users_and_other_organizations_are_refused(
    acme_admin, orgs, username, organization, field
):
    before = (Membership.objects.count(), AuditEvent.objects.count())
    response = acme_admin.post(
        ADD, {"username": username, "organization": orgs[organization].pk, "role": "viewer"}
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert (Membership.objects.count(), AuditEvent.objects.count()) == before


def test_an_admin_changes_and_removes_members_of_its_organization_only(acme_admin, users, orgs):
    viewer = Membership.objects.get(user=users["acme-viewer"])
    url = f"/admin/accounts/membership/{viewer.pk}/change/"
    assert acme_admin.post(url, {"role": "manager"}).status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == "manager"
    assert holds(users["acme-viewer"], orgs["acme"], "run_sensitive_workflows")

    globex = Membership.objects.get(user=users["globex-manager"])
    assert acme_admin.get(f"/admin/accounts/membership/{globex.pk}/change/").status_code in (
        302,
        404,
    )
    assert acme_admin.post(
        f"/admin/accounts/membership/{globex.pk}/delete/", {"post": "yes"}
    ).status_code in (302, 404)
    assert Membership.objects.filter(pk=globex.pk).exists()

    assert (
        acme_admin.post(
            f"/admin/accounts/membership/{viewer.pk}/delete/", {"post": "yes"}
        ).status_code
        == 302
    )
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    fresh = type(users["acme-viewer"]).objects.get(pk=users["acme-viewer"].pk)
    assert not holds(fresh, orgs["acme"], "view_runs")
    assert AuditEvent.objects.filter(
        action="membership.remove", actor_username="acme-admin"
    ).exists()


def test_guardian_object_permission_screens_are_not_exposed(acme_admin):
    from django.contrib import admin
    from guardian.admin import GuardedModelAdminMixin

    assert acme_admin.get("/admin/guardian/").status_code == 404
    for model, model_admin in admin.site._registry.items():
        assert model._meta.app_label != "guardian", model
        assert not isinstance(model_admin, GuardedModelAdminMixin), model


def test_the_organization_filter_offers_only_organizations_the_admin_manages(
    acme_admin, orgs, users
):
    initech = Organization.objects.create(name="Initech", slug="initech")
    membership_set_role(organization=initech, user=users["acme-admin"], role="admin")
    page = acme_admin.get("/admin/accounts/membership/")
    assert page.status_code == 200
    spec = next(
        spec
        for spec in page.context["cl"].filter_specs
        if getattr(spec, "field_path", "") == "organization"
    )
    offered = {choice["display"] for choice in spec.choices(page.context["cl"])}
    assert offered == {"All", "Acme Corp", "Initech"}
    assert "Globex" not in page.content.decode()


def add_errors(client, username: str, orgs) -> dict:
    response = client.post(
        ADD, {"username": username, "organization": orgs["acme"].pk, "role": "viewer"}
    )
    assert response.status_code == 200
    return dict(response.context["adminform"].form.errors)


def test_the_add_form_tells_no_other_tenants_users_apart_from_unknown_ones(
    acme_admin, orgs, users, django_user_model
):
    django_user_model.objects.create_superuser("root", password="pw")
    before = (Membership.objects.count(), AuditEvent.objects.count())
    unknown = add_errors(acme_admin, "nobody", orgs)
    assert list(unknown) == ["username"]
    assert "you may add" in unknown["username"][0]
    # A member of another organization only, and a superuser: the very same answer.
    assert add_errors(acme_admin, "globex-manager", orgs) == unknown
    assert add_errors(acme_admin, "root", orgs) == unknown
    assert (Membership.objects.count(), AuditEvent.objects.count()) == before


def test_a_superuser_adds_anyone(orgs, users, django_user_model, client):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    response = client.post(
        ADD, {"username": "globex-manager", "organization": orgs["acme"].pk, "role": "viewer"}
    )
    assert response.status_code == 302, response.content
    assert Membership.objects.filter(user=users["globex-manager"], organization=orgs["acme"])
