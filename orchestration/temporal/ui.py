"""Links into Temporal's web UI (`TEMPORAL_UI_URL`), for the API's runs and the admin's run
page alike."""

from django.conf import settings


def workflow_ui_url(workflow_id: str) -> str:
    """The page of the workflow `workflow_id` in Temporal's web UI."""
    base = settings.TEMPORAL_UI_URL.rstrip("/")
    return f"{base}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/{workflow_id}"
