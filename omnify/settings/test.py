"""Test settings: fast hashing, a file-backed SQLite test database shared with the worker thread."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # In-memory SQLite can't be shared with the Temporal worker's activity threads. One file
    # per test process, so two suites (a developer's and CI's) never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_omnify_{os.getpid()}"}
TEMPORAL_RPC_TIMEOUT = 3.0
# Nothing is collected for the tests: WhiteNoise serves the apps' files from the finders.
STATIC_ROOT = None
LOGGING = {"version": 1, "disable_existing_loggers": False}
