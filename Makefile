# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite must not inherit a developer's database; PostgreSQL is chosen below.
TEST_ENV := env -u DATABASE_URL DJANGO_DEBUG=1

.PHONY: run test quick lint bench mutate install install-dev browser chromium ffprobe clean serve loadtest nginx

$(PY):
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@$(MAKE) --no-print-directory chromium || \
	  echo "Without chromium, captures by link keep only the plain HTTP exchange."
	$(PY) manage.py migrate --no-input
	@# load_demo prints the logins when it creates the users; later runs show them from file.
	@$(PY) manage.py load_demo | tee /dev/stderr | grep -q "already loaded" && \
	  $(PY) manage.py demo_logins || true
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/  (the admin: http://$(HOST):$(PORT)/admin/),"
	@echo "with a background worker for thumbnails and fixity (Ctrl-C stops both)"
	RUN_ADDRESS=$(HOST):$(PORT) $(BIN)/honcho start --no-colour -f Procfile

# Debian's Chromium (never `playwright install`): captures by link render pages in it,
# and the browser tests drive it.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium (captures by link, browser tests)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
	  { echo "Could not install chromium: run 'apt-get install -y chromium' as root."; exit 1; }; \
	fi

# The browser tests' needs: Chromium and axe-core.
browser: chromium
	@# axe-core, which the accessibility tests inject, from npm at package-lock.json's pin.
	@if [ ! -f node_modules/axe-core/axe.min.js ]; then \
	  command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm) >/dev/null || \
	  { echo "Could not install npm: run 'apt-get install -y npm' as root."; exit 1; }; \
	  echo "Installing axe-core from npm (package-lock.json) for the browser tests"; \
	  npm ci --no-audit --no-fund --loglevel=error; \
	fi

# The contracts and the type-checked modules: docs/architecture.md, "Architecture as code".
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/mypy
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# Each run gets its own data directory, so its own SQLite test database. What the browser
# tests keep to be looked at (the journey's screenshots) goes to $(ARTEFACTS).
ARTEFACTS ?= $(CURDIR)/var/test-artefacts
test: install-dev browser nginx lint
	@data=$$(mktemp -d /tmp/tracker-test.XXXXXX); status=0; \
	echo "=== tests on SQLite ==="; \
	$(TEST_ENV) TRACKER_DATA_DIR=$$data TRACKER_TEST_ARTEFACTS=$(ARTEFACTS)/sqlite $(BIN)/pytest -q -p no:cacheprovider --durations=15 || status=1; \
	if pg=$$($(PY) scripts/postgres_url.py); then \
	  echo "=== tests on PostgreSQL ($$pg) ==="; \
	  $(TEST_ENV) TRACKER_DATA_DIR=$$data TRACKER_TEST_ARTEFACTS=$(ARTEFACTS)/postgresql DATABASE_URL=$$pg $(BIN)/pytest -q -p no:cacheprovider --durations=15 || status=1; \
	else \
	  echo "=== PostgreSQL not reachable: suite ran on SQLite only ==="; \
	fi; \
	rm -rf "$$data"; exit $$status

# The inner loop: lint, then the suite without the browser tests, on SQLite only.
quick: install-dev lint
	@data=$$(mktemp -d /tmp/tracker-test.XXXXXX); status=0; \
	$(TEST_ENV) TRACKER_DATA_DIR=$$data $(BIN)/pytest -q -p no:cacheprovider -m "not e2e" || status=1; \
	rm -rf "$$data"; exit $$status

# Mutation testing of the core modules (docs/testing.md); not part of `make test`.
# MODULES=tracker/responsibility/periods.py for one module, MINUTES= bounds the run (default 120),
# RETEST=1 tests again the mutants the last run's tests missed.
$(VENV)/.installed-mutate: requirements-mutate.txt requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-mutate.txt
	touch $@
mutate: install-dev $(VENV)/.installed-mutate
	$(TEST_ENV) $(PY) scripts/mutate.py $(if $(MINUTES),--minutes $(MINUTES)) \
	  $(if $(RETEST),--retest) $(MODULES)

# Debian's ffmpeg for the video benchmark's ffprobe baseline (never a pip package). If it
# cannot be installed, the benchmark runs and says that baseline is missing.
ffprobe:
	@if ! command -v ffprobe >/dev/null; then \
	  echo "Installing Debian's ffmpeg for the video benchmark's ffprobe baseline"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg) \
	    >/dev/null || \
	  echo "Could not install ffmpeg: run 'apt-get install -y ffmpeg' as root;" \
	    "until then the video benchmark skips its ffprobe baseline."; \
	fi

# Benchmarks print figures with a baseline measured in the same run; never pass/fail.
SCALE ?= quick
bench: install-dev ffprobe
	$(TEST_ENV) $(PY) bench/run.py --scale $(SCALE)
	@if pg=$$($(PY) scripts/postgres_url.py --fresh tracker_bench); then \
	  echo "=== benchmarks on PostgreSQL ($$pg, created for this run): database-bound figures ==="; \
	  $(TEST_ENV) DATABASE_URL=$$pg $(PY) bench/run.py --scale $(SCALE) --database-only; \
	fi

# `make serve`: gunicorn (4 workers, deploy/gunicorn.conf.py) on a fresh PostgreSQL
# database `tracker_serve` with the demo case, production settings on loopback:
# DEBUG off, a throw-away key, plain HTTP (no HTTPS redirect or HSTS, and cookies
# without Secure, which the settings allow for loopback hosts only). Static files
# are not served (nginx's job in a deployment), so admin pages are unstyled. The four
# workers share one cache (the API's rate counts) in the local Redis, database 1.
SERVE_PORT := $(if $(filter command line environment,$(origin PORT)),$(PORT),8001)
SERVE_DIR := $(CURDIR)/var/serve
SERVE_ENV := DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost \
  DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_HSTS_SECONDS=0 DJANGO_SECURE_COOKIES=0 \
  DJANGO_EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend \
  TRACKER_DATA_DIR=$(SERVE_DIR) DB_CONN_MAX_AGE=60 \
  TRACKER_CACHE_URL=$${TRACKER_CACHE_URL:-redis://127.0.0.1:6379/1} \
  GUNICORN_WORKERS=4 GUNICORN_BIND=127.0.0.1:$(SERVE_PORT)
# A fresh database needs a fresh data dir: the originals belong to its rows.
define SERVE_SETUP
rm -rf "$(SERVE_DIR)" && mkdir -p "$(SERVE_DIR)" || exit 1; \
pg=$$($(PY) scripts/postgres_url.py --fresh tracker_serve) || \
  { echo "make serve needs PostgreSQL (DATABASE_URL, or postgres://root@127.0.0.1:5432)"; exit 1; }; \
export $(SERVE_ENV) DATABASE_URL=$$pg; \
export DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))'); \
$(PY) manage.py migrate --no-input -v 0 && \
$(PY) manage.py collectstatic --no-input -v 0 && \
$(PY) manage.py load_demo || exit 1
endef

serve: install
	@$(SERVE_SETUP); \
	workers=$${TRACKER_WORKERS:-2}; \
	echo "Serving http://127.0.0.1:$(SERVE_PORT)/admin/ (gunicorn, 4 workers, $$pg)"; \
	echo "with $$workers background workers (TRACKER_WORKERS). Ctrl-C stops all."; \
	exec $(BIN)/honcho start --no-colour -f deploy/Procfile.serve -d . -c worker=$$workers

# `make loadtest`: `make serve`'s server in the background behind nginx with the
# deployment's site (scripts/loopback_nginx.py: nginx sends thumbnails, previews and
# originals by X-Accel-Redirect, as deployed), bench/loadtest.py against nginx (USERS
# logged-in users for DURATION seconds; SWEEP="10 20 30 50" runs each count in turn and
# reports the largest that keeps pages' p95 under 300 ms), with the server's CPU time per
# page. The demo's derivatives are made first; a background worker makes the uploads'
# during the load. Then all are stopped; `timeout` bounds their lives even if not.
USERS ?= 50
DURATION ?= 60
SWEEP ?=
loadtest: install nginx
	@$(SERVE_SETUP); \
	app=$$(($(SERVE_PORT) + 1)); \
	export GUNICORN_BIND=127.0.0.1:$$app TRACKER_X_ACCEL_REDIRECT_PREFIX=/protected \
	  TRACKER_PROXY_COUNT=1; \
	$(PY) scripts/loopback_nginx.py "$(SERVE_DIR)/nginx" --listen $(SERVE_PORT) --app $$app \
	  --data "$(SERVE_DIR)" || exit 1; \
	life=$$(( ($(DURATION) + 300) * ($$(echo $(SWEEP) | wc -w) + 1) + 600 )); \
	echo "Making the demo's thumbnails, previews and playable copies (the queued jobs)"; \
	$(PY) manage.py worker --burst > "$(SERVE_DIR)/worker.log" 2>&1 || exit 1; \
	echo "gunicorn's log: $(SERVE_DIR)/gunicorn.log; nginx's: $(SERVE_DIR)/nginx/error.log"; \
	timeout $$life $(PY) manage.py worker >> "$(SERVE_DIR)/worker.log" 2>&1 & worker=$$!; \
	timeout $$life $(BIN)/gunicorn -c deploy/gunicorn.conf.py \
	  > "$(SERVE_DIR)/gunicorn.log" 2>&1 & server=$$!; \
	timeout $$life /usr/sbin/nginx -p "$(SERVE_DIR)/nginx" -c "$(SERVE_DIR)/nginx/nginx.conf" \
	  > "$(SERVE_DIR)/nginx/nginx.log" 2>&1 & proxy=$$!; \
	trap 'kill $$server $$proxy $$worker 2>/dev/null' INT TERM; \
	sleep 1; \
	status=0; \
	$(PY) bench/loadtest.py --url http://127.0.0.1:$(SERVE_PORT) \
	  --logins "$(SERVE_DIR)/demo-logins.txt" --users $(USERS) --duration $(DURATION) \
	  --sweep "$(SWEEP)" --server-pid $$server --proxy-pid $$proxy || status=$$?; \
	kill $$server $$proxy $$worker 2>/dev/null; wait $$server $$proxy $$worker; exit $$status

# nginx in front of the load test (Debian's package; its service is not started).
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx for the load test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends nginx-light) >/dev/null || \
	  { echo "Could not install nginx: run 'apt-get install -y nginx-light' as root."; exit 1; }; \
	fi

clean:
	rm -rf $(VENV) mutants
