# Stepwise: `make run` to try it, `make test` to check it. Needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint lint-openapi lighthouse typecheck pytest migrate worker beat bench constraints schema clean bench-web bench-curator bench-api bench-links bench-reminders bench-load pytest-sqlite

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stepwise needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the declared or pinned packages change.
$(VENV)/.installed: pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed  ## Apply database migrations
	$(PY) manage.py migrate --no-input

run: migrate  ## Set up (venv, packages, database, roadmaps, demo users) and serve on :8000
	$(PY) manage.py load_roadmaps
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: $(VENV)/.installed-dev  ## ruff lint and format check; import-linter: the apps' layers only point down
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Without Node.js and npm (a machine with only Python), make test skips Redocly and
# Lighthouse and says so; CI (CI=true) always runs them.
NPM := $(shell command -v npm 2>/dev/null)
ifeq ($(NPM)$(CI),)
lint-openapi:  ## Redocly's recommended rules on the committed schema (needs Node.js and npm)
	@echo "lint-openapi skipped: Node.js and npm are not installed here (CI runs it)"

lighthouse:  ## Install Lighthouse for its browser test (needs Node.js and npm)
	@echo "lighthouse skipped: Node.js and npm are not installed here (its test is skipped too; CI runs it)"
else
# Redocly CLI from the npm registry into tools/redocly/node_modules (once; it then runs
# offline), with the recommended rules less those redocly.yaml turns off, and why.
REDOCLY := tools/redocly/node_modules/.bin/redocly
$(REDOCLY): tools/redocly/package.json
	npm install --prefix tools/redocly --no-audit --no-fund --no-package-lock --loglevel=error
	touch $@

lint-openapi: $(REDOCLY)  ## Redocly's recommended rules on the committed schema (docs/openapi.yaml)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint docs/openapi.yaml

# Lighthouse from the npm registry into tools/lighthouse/node_modules (once). Its browser
# test (tests/web/test_lighthouse.py) then runs it offline on Debian's Chromium: no download.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE): tools/lighthouse/package.json
	npm install --prefix tools/lighthouse --no-audit --no-fund --no-package-lock --loglevel=error
	touch $@

lighthouse: $(LIGHTHOUSE)  ## Install Lighthouse for its browser test (make test does)
endif

typecheck: $(VENV)/.installed-dev  ## mypy with the Django and DRF plugins
	$(BIN)/mypy apps config

pytest: $(VENV)/.installed-dev  ## The test suite only
	$(BIN)/pytest $(PYTEST_ARGS)

# SQLite is the zero-setup default. When the suite runs on another database (PostgreSQL in
# CI), the apps with SQL of their own (link recording, status writes, reminder recording)
# are tested on SQLite again; on SQLite the suite above has already done it.
SQLITE_PASS := $(if $(filter-out sqlite%,$(DATABASE_URL)),pytest-sqlite,)

pytest-sqlite: $(VENV)/.installed-dev  ## The apps with SQL of their own, on SQLite (in memory)
	DATABASE_URL=sqlite:// $(BIN)/pytest -m "not postgres" tests/linkhealth tests/progress tests/reminders

test: lint lint-openapi typecheck lighthouse pytest $(SQLITE_PASS)  ## Lint, type checks, the whole test suite (and its SQLite pass)

# tests/api/test_schema.py (part of `make test`) fails when code and this file disagree.
schema: $(VENV)/.installed-dev  ## Regenerate the committed OpenAPI schema (docs/openapi.yaml)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py spectacular \
		--validate --fail-on-warn --file docs/openapi.yaml

bench-web: $(VENV)/.installed-dev  ## Learner web benchmark: dashboard and track page on 1,000,000 statuses (PostgreSQL)
	DATABASE_URL=$${WEB_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stepwise_bench} \
		$(PY) bench/web_bench.py

bench-curator: $(VENV)/.installed-dev  ## Curator dashboard: a full and an incremental refresh and the page on 1,000,000 statuses (PostgreSQL)
	DATABASE_URL=$${CURATOR_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench_curator} \
		$(PY) bench/curator_bench.py

bench-api: $(VENV)/.installed-dev  ## REST API benchmark: gunicorn + PostgreSQL + locust (see bench/RESULTS.md)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) bench/api_bench.py

bench-load: $(VENV)/.installed-dev  ## Load benchmark: 200 users on web + API under production (gunicorn, Redis, Celery), then a Redis outage
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	DATABASE_URL=$${LOAD_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stepwise_load} \
		$(PY) bench/load_bench.py
	DATABASE_URL=$${LOAD_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stepwise_load} \
		$(PY) bench/load_bench.py --redis-outage

bench-reminders: $(VENV)/.installed-dev  ## Reminders: Stepwise's full path vs a bare SMTP loop, 20,000 of 100,000 due
	DATABASE_URL=$${REMINDERS_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench_reminders} \
		$(PY) bench/reminders_bench.py

bench-links: $(VENV)/.installed-dev  ## Link checker benchmark: 5,000 local URLs vs lychee, LinkChecker and a HEAD loop
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) bench/linkcheck_bench.py

worker: $(VENV)/.installed  ## A Celery worker (needs REDIS_URL)
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.dev} $(BIN)/celery -A config.celery_app worker --loglevel=info

beat: $(VENV)/.installed  ## Celery beat with the database scheduler (needs REDIS_URL)
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.dev} $(BIN)/celery -A config.celery_app beat --loglevel=info

constraints: | $(PY)  ## Re-pin exact versions after changing pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@(echo "# Exact versions of every package Stepwise installs (names and versions only)."; \
	  echo "# Regenerate with: make constraints"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^-e') > constraints.txt

clean:  ## Remove the virtualenv and local database
	rm -rf $(VENV) db.sqlite3 .pytest_cache .mypy_cache .ruff_cache
