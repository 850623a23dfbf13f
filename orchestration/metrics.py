"""Prometheus metrics of the web processes. Under gunicorn every worker process counts on
its own; with PROMETHEUS_MULTIPROC_DIR set, /metrics adds them up (prometheus-client's
multiprocess mode). The Temporal worker's metrics come from the SDK runtime instead."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

WORKFLOW_STARTS = Counter(
    "omnify_workflow_starts", "Workflow runs started in Temporal.", ["workflow_type"]
)
WORKFLOW_START_FAILURES = Counter(
    "omnify_workflow_start_failures",
    "Starts that failed because Temporal was unavailable.",
    ["workflow_type"],
)
WORKFLOW_CANCELS = Counter("omnify_workflow_cancels", "Cancellations requested.", ["workflow_type"])
WORKFLOW_START_LATENCY = Histogram(
    "omnify_workflow_start_latency_seconds",
    "Time for Temporal to accept a start, through the bridge.",
    ["workflow_type"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HTTP_REQUESTS = Counter("omnify_http_requests", "HTTP requests served.", ["method", "status"])
HTTP_LATENCY = Histogram(
    "omnify_http_request_duration_seconds", "HTTP request duration.", ["method"]
)


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, summed over processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
