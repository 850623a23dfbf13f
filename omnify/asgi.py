"""ASGI entry point (uvicorn for `make run`, gunicorn + uvicorn workers in production)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnify.settings.local")

application = get_asgi_application()
