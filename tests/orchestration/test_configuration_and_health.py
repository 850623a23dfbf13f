import pytest

pytestmark = pytest.mark.django_db


def test_configuration_shows_the_effective_policy_table(api, settings):
    settings.TEMPORAL_WORKFLOW_POLICIES = {
        "eyes-retrain": {
            "maximum_attempts": 4,
            "activities": {"retrain_eyes_model": {"start_to_close_seconds": 600}},
        }
    }
    response = api("acme-manager").get("/api/temporal/configuration")
    assert response.status_code == 200
    workflows = response.json()["workflows"]
    assert workflows["client-onboarding"]["execution_timeout_seconds"] == 20 * 60
    assert workflows["client-onboarding"]["maximum_attempts"] == 3
    assert workflows["platform-sync"]["execution_timeout_seconds"] == 30 * 60
    assert workflows["retention-campaign"]["execution_timeout_seconds"] == 10 * 60
    retrain = workflows["eyes-retrain"]
    assert (retrain["execution_timeout_seconds"], retrain["maximum_attempts"]) == (3600, 4)
    assert retrain["activities"][0]["start_to_close_seconds"] == 600
    assert response.json()["temporal"]["task_queue"] == settings.TEMPORAL_TASK_QUEUE


@pytest.mark.parametrize(
    ("username", "status"),
    [("acme-viewer", 403), ("acme-operator", 403), ("acme-admin", 200), (None, 401)],
)
def test_configuration_is_for_managers_and_admins(api, username, status):
    assert api(username).get("/api/temporal/configuration").status_code == status


def test_an_unknown_policy_override_is_a_configuration_error(api, settings):
    from django.core.exceptions import ImproperlyConfigured

    from orchestration.services.policies import workflow_policy

    settings.TEMPORAL_WORKFLOW_POLICIES = {"platform-sync": {"max_attempts": 9}}
    with pytest.raises(ImproperlyConfigured, match="max_attempts"):
        workflow_policy("platform-sync")


@pytest.mark.temporal
def test_health_reports_the_connection(temporal_env, api):
    response = api().get("/api/temporal/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["temporal"]["address"] == temporal_env.address
    assert body["temporal"]["server_version"]
