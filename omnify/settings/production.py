"""Production: debug off, a real secret key required, HTTPS-only cookies and headers.

Behind a TLS-terminating proxy or ingress, set DJANGO_SECURE_PROXY_SSL_HEADER=1 so Django
trusts X-Forwarded-Proto; DJANGO_SECURE_SSL_REDIRECT=0 turns off the redirect when the
proxy already does it.
"""

import os

os.environ["DJANGO_DEBUG"] = "0"
os.environ.setdefault("LOG_FORMAT", "json")

from .base import *  # noqa: F403
from .base import env_bool

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes talk plain HTTP to the pod; they must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Only `make serve` (plain HTTP on a laptop) turns these off.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Static files: the copies collectstatic made, compressed and hashed (make serve and the
# image run collectstatic).
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
