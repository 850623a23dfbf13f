# Omnify Console. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install browser connectors run serve test test-postgres fuzz lint format bench bench-start-latency bench-throughput bench-serve bench-live-pages bench-training bench-connectors bench-data bench-lists record-histories screenshots reconcile clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python dependencies into $(VENV)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# Browser tests drive Debian's Chromium; Playwright never downloads a browser of its own. The
# README's walkthroughs (tests/test_readme_walkthroughs.py) run curl, as a user pasting them does.
browser:
	@{ command -v chromium && command -v curl; } >/dev/null 2>&1 || { \
		echo "Installing Chromium and curl for the browser and README tests (apt)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium curl >/dev/null; }

run: install
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo
	@exec $(PY) manage.py run_console

# Production-like serving on this machine: production settings, gunicorn with uvicorn workers,
# WhiteNoise static files, JSON logs, Prometheus metrics, beside the worker and Temporal.
# Plain HTTP here, so the HTTPS redirect and secure cookies are off; a secret key is kept
# in var/secret-key unless DJANGO_SECRET_KEY is set.
serve: install
	@mkdir -p var && { test -s var/secret-key || $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret-key; }
	@export DJANGO_SETTINGS_MODULE=omnify.settings.production \
		DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/secret-key)}" \
		DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 \
		PROMETHEUS_MULTIPROC_DIR="$(CURDIR)/var/prometheus"; \
	$(PY) manage.py migrate --noinput -v 0 && \
	$(PY) manage.py collectstatic --noinput -v 0 && \
	$(PY) manage.py seed_demo && \
	exec $(PY) manage.py run_console --web-server gunicorn

# The Airbyte source connectors the suite runs for real, each in its own virtualenv under
# var/connectors/; uv's cache (~/.cache/uv) makes a fresh clone's install take seconds.
TEST_CONNECTORS := faker declarative hubspot
connectors: install
	@$(PY) manage.py install_connectors $(TEST_CONNECTORS)

test: install lint browser connectors
	@exec $(PY) -m pytest --durations=15

# The same suite on a throwaway PostgreSQL cluster (.ci/with-postgres makes and removes it).
test-postgres: install browser connectors
	@exec .ci/with-postgres $(PY) -m pytest --durations=15

# schemathesis against the API (tests/orchestration/test_api_fuzz.py) with many more examples
# than `make test` gives it, and a new seed each time unless OMNIFY_FUZZ_SEED is set.
fuzz: install
	@OMNIFY_FUZZ_EXAMPLES=$${OMNIFY_FUZZ_EXAMPLES:-500} OMNIFY_FUZZ_SEED=$${OMNIFY_FUZZ_SEED:-$$(date +%s)} \
		exec $(PY) -m pytest tests/orchestration/test_api_fuzz.py -rP

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: install
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

bench: bench-start-latency bench-throughput bench-serve bench-lists bench-live-pages bench-training bench-connectors

bench-start-latency: install
	@$(PY) tests/bench/bench_start_latency.py

# P2 start throughput, P3 an onboarding end to end, P5 the worker's completions: the console
# against the raw SDK on the same server and worker.
bench-throughput: install
	@$(PY) tests/bench/bench_throughput.py

# The start benchmarks again under `make serve`'s server (gunicorn, production settings) on
# PostgreSQL: a throw-away cluster for each (.ci/with-postgres), so neither sees the other's runs.
bench-serve: install
	@.ci/with-postgres sh -c '$(PY) tests/bench/bench_start_latency.py --database-url "$$DATABASE_URL"'
	@.ci/with-postgres sh -c '$(PY) tests/bench/bench_throughput.py --database-url "$$DATABASE_URL"'

# An onboarding's end-to-end time while two retrains train, against its time alone.
bench-training: install
	@$(PY) tests/bench/bench_training_isolation.py

# A million faker records through the console's sync against source-faker alone writing to a
# file: records/s, their ratio, peak RSS of each side (and at 100,000 records, to show it flat).
bench-connectors: install
	@$(PY) tests/bench/bench_connectors.py

# The determinism guard's fixtures: a real history of every workflow type in every scenario
# (tests/histories/<type>/<scenario>.json), replayed by tests/temporal/test_replay.py.
# Every type's histories, or only those named: make record-histories TYPES="client-offboarding"
record-histories: install
	@$(PY) tests/histories/record.py $(TYPES)

# The web server's CPU cost of 50 run pages following their runs live.
bench-live-pages: install
	@$(PY) tests/bench/bench_live_pages.py

# The million-run dataset (1,000,000 runs, 2,000,000 audit events, 50 organizations) the list
# benchmark reads: var/bench/lists.sqlite3, about 1.5 GB, 1.5-3.5 minutes on two cores.
bench-data: install
	@$(PY) tests/bench/bench_data.py

# The run and audit lists (API and admin) at a million runs, as a manager and a superuser
# (generates the dataset first when it is missing), in process with query counts and then over
# HTTP to uvicorn: var/bench/lists.json and lists-server.json.
bench-lists: install
	@$(PY) tests/bench/bench_lists.py
	@$(PY) tests/bench/bench_lists.py --server

# The README's pictures: headless Chromium against `make run`'s own stack (its own ports and
# data under var/), saved as docs/*.png.
screenshots: install browser
	@$(PY) docs/make_screenshots.py

reconcile: install
	@$(PY) manage.py reconcile_runs

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
