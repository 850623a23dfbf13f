"""gunicorn settings for production serving: ASGI through uvicorn workers, configured from the
environment (WEB_CONCURRENCY, GUNICORN_BIND, GUNICORN_TIMEOUT)."""

import os
import shutil

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Also how long a stopping worker waits for open run pages' streams (admin/run_feed.py), which
# last up to 10 minutes; the browsers reconnect to another worker.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# The uvicorn workers trust X-Forwarded-For from no one: the console reads it itself, from
# as many proxies as OMNIFY_TRUSTED_PROXIES says (orchestration.context.client_address).
forwarded_allow_ips = ""
# Access lines come from the console's own middleware, as JSON with the request id.
accesslog = None
errorlog = "-"
# Each worker builds its own Temporal client after the fork (the bridge is lazy and checks
# the pid), so nothing is preloaded that holds a connection or a thread.
preload_app = False


def on_starting(server):
    # The multiprocess folder may outlive a previous master (a container restart keeps its
    # volume); its counters must not be added to this one's.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)


def child_exit(server, worker):
    # prometheus-client's multiprocess mode: forget the counters files of dead workers' gauges.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
