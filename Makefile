# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite must not inherit a developer's database; PostgreSQL is chosen below.
TEST_ENV := env -u DATABASE_URL DJANGO_DEBUG=1

.PHONY: run test lint bench install install-dev browser clean

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
	$(PY) manage.py migrate --no-input
	@# load_demo prints the logins when it creates the users; later runs show them from file.
	@$(PY) manage.py load_demo | tee /dev/stderr | grep -q "already loaded" && \
	  $(PY) manage.py demo_logins || true
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/admin/  (Ctrl-C stops)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Debian's Chromium for the browser tests (never `playwright install`).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
	  { echo "Could not install chromium: run 'apt-get install -y chromium' as root."; exit 1; }; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

# Each run gets its own data directory, so its own SQLite test database.
test: install-dev browser lint
	@data=$$(mktemp -d /tmp/tracker-test.XXXXXX); status=0; \
	echo "=== tests on SQLite ==="; \
	$(TEST_ENV) TRACKER_DATA_DIR=$$data $(BIN)/pytest -q -p no:cacheprovider || status=1; \
	if pg=$$($(PY) scripts/postgres_url.py); then \
	  echo "=== tests on PostgreSQL ($$pg) ==="; \
	  $(TEST_ENV) TRACKER_DATA_DIR=$$data DATABASE_URL=$$pg $(BIN)/pytest -q -p no:cacheprovider || status=1; \
	else \
	  echo "=== PostgreSQL not reachable: suite ran on SQLite only ==="; \
	fi; \
	rm -rf "$$data"; exit $$status

# Benchmarks print figures with a baseline measured in the same run; never pass/fail.
SCALE ?= quick
bench: install-dev
	$(TEST_ENV) $(PY) bench/run.py --scale $(SCALE)
	@if pg=$$($(PY) scripts/postgres_url.py --fresh tracker_bench); then \
	  echo "=== benchmarks on PostgreSQL ($$pg, created for this run): database-bound figures ==="; \
	  $(TEST_ENV) DATABASE_URL=$$pg $(PY) bench/run.py --scale $(SCALE) --database-only; \
	fi

clean:
	rm -rf $(VENV)
