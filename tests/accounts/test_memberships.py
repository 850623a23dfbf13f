import pytest
from django.core.management import call_command
from django.http import HttpRequest

from accounts.models import Membership, Organization
from accounts.roles import ROLE_PERMISSIONS, Role
from orchestration.authorization import holds, organizations_holding
from orchestration.models import AuditEvent, Client, SyncedRecord
from orchestration.services.memberships import membership_remove, membership_set_role


@pytest.mark.parametrize("role", list(Role))
def test_a_role_grants_exactly_its_permissions(orgs, django_user_model, role):
    user = django_user_model.objects.create_user("u")
    membership_set_role(organization=orgs["acme"], user=user, role=role)
    for codename in set().union(*ROLE_PERMISSIONS.values()):
        expected = codename in ROLE_PERMISSIONS[role]
        assert holds(user, orgs["acme"], codename) is expected, codename
        assert not holds(user, orgs["globex"], codename)


def test_changing_and_removing_a_role_takes_effect_and_is_audited(orgs, django_user_model):
    user = django_user_model.objects.create_user("u")
    admin = django_user_model.objects.create_superuser("boss")
    membership_set_role(organization=orgs["acme"], user=user, role="manager", actor=admin)
    assert organizations_holding(user, "run_sensitive_workflows").get() == orgs["acme"]

    # What a user holds is read once per user object (orchestration.authorization): each step looks
    # with a fresh one, as the next request does.
    user = django_user_model.objects.get(pk=user.pk)
    membership_set_role(organization=orgs["acme"], user=user, role="viewer", actor=admin)
    assert not organizations_holding(user, "run_sensitive_workflows").exists()
    assert organizations_holding(user, "view_runs").get() == orgs["acme"]

    membership_remove(membership=Membership.objects.get(user=user), actor=admin)
    user = django_user_model.objects.get(pk=user.pk)
    assert not organizations_holding(user, "view_runs").exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [
        ("membership.set", "boss"),
        ("membership.set", "boss"),
        ("membership.remove", "boss"),
    ]


def test_seed_demo_is_idempotent(db, django_user_model, client):
    def counts():
        models = [Organization, django_user_model, Membership, Client, SyncedRecord, AuditEvent]
        return tuple(model.objects.count() for model in models)

    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first[:4] == (2, 6, 5, 2)
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {
        "acme-admin": "admin",
        "acme-manager": "manager",
        "acme-operator": "operator",
        "acme-viewer": "viewer",
        "globex-manager": "manager",
    }
    # django-axes needs the request a login comes with.
    assert client.login(request=HttpRequest(), username="acme-viewer", password="omnify-demo")
    assert django_user_model.objects.get(username="admin").is_superuser
