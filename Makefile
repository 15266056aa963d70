# VM Lab: `make run` serves a development copy, `make test` runs every check. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/vmlab

.PHONY: run serve-prod test lint check test-sqlite test-postgres bench profile clean

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "VM Lab needs Python 3.11 or newer (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

.env: | $(VENV)/.runtime
	$(PY) scripts/write_env.py .env

run: $(VENV)/.runtime .env
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_users
	@echo "VM Lab: http://127.0.0.1:8000  (Django admin, for admins: http://127.0.0.1:8000/admin/)"
	@# daphne's runserver: HTTP and the terminal's WebSockets, reloading on code changes.
	$(PY) manage.py runserver 127.0.0.1:8000

# The production set-up on this machine: PostgreSQL, Redis, DEBUG=False, collectstatic, gunicorn + uvicorn workers.
serve-prod: $(VENV)/.runtime .env
	PY=$(PY) bash scripts/serve_prod.sh

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The layers of README "Layout", module cycles and the machines/bookmarks independence (pyproject.toml).
	$(VENV)/bin/lint-imports --no-cache

check: $(VENV)/.dev .env
	$(PY) manage.py check --fail-level WARNING
	DEBUG=false ALLOWED_HOSTS=vmlab.example \
		$(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

test-sqlite: $(VENV)/.dev .env
	@echo "== pytest on SQLite =="
	DATABASE_URL=sqlite:///:memory: $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev .env
	@bash scripts/test_postgres.sh "$(POSTGRES_TEST_URL)" $(PY) -m pytest $(PYTEST_ARGS)

test: lint check test-sqlite test-postgres

# Measurements on loopback (PostgreSQL and Redis as for serve-prod): each script prints its figures, its ratio
# last, and bench/RESULTS.md gets them all with the date. BENCH="dashboard load" runs only those.
bench: $(VENV)/.dev
	$(PY) bench/run.py

# Where one page's time goes (SQL, ORM, templates, the rest, top cProfile entries) on a throwaway database filled
# like the benchmarks': `make profile URL=/bookmarks/ AS=bench-admin`.
# (make's own AS names the assembler: only an AS given on the command line or in the environment counts.)
URL ?= /
profile: $(VENV)/.dev
	$(PY) bench/profile_page.py "$(URL)" --as "$(if $(filter default,$(origin AS)),bench-manager,$(AS))"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
