# VM Lab: `make run` serves a development copy, `make test` runs every check. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/vmlab

.PHONY: run serve-prod test lint check test-sqlite test-postgres bench profile clean test-system-packages messages

# The translations: GNU msgfmt compiles each catalogue (locale/*/LC_MESSAGES/*.po) into the .mo that Django reads;
# --check refuses a msgstr whose placeholders differ from its msgid's. The .mo files are build output, not committed.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
%.mo: %.po | $(VENV)/.runtime
	msgfmt --check --output-file $@ $<
messages: $(MO_FILES)

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "VM Lab needs Python 3.11 or newer (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# python-ldap compiles against OpenLDAP's and SASL's headers.
	@PYTHON=$(PYTHON) bash scripts/system_packages.sh build
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@# pg_dump and pg_restore for `manage.py backup` and `restore` on PostgreSQL (README.md, "Backups").
	@bash scripts/install_pg_client.sh --optional
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

.env: | $(VENV)/.runtime
	$(PY) scripts/write_env.py .env

run: $(VENV)/.runtime .env messages
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_users
	$(PY) manage.py setup_schedules
	@echo "VM Lab: http://127.0.0.1:8000  (Django admin, for admins: http://127.0.0.1:8000/admin/)"
	@# daphne's runserver (HTTP and the terminal's WebSockets, reloading on code changes), with the task queue's
	@# worker beside it (probes, reminders, e-mails; the database is its broker): Ctrl+C stops both.
	PY=$(PY) bash scripts/with_worker.sh $(PY) manage.py runserver 127.0.0.1:8000

# The production set-up on this machine: PostgreSQL, Redis, DEBUG=False, collectstatic, gunicorn + uvicorn workers.
serve-prod: $(VENV)/.runtime .env messages
	PY=$(PY) bash scripts/serve_prod.sh

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The layers of README "Layout", module cycles and the machines/bookmarks independence (pyproject.toml).
	$(VENV)/bin/lint-imports --no-cache

check: $(VENV)/.dev .env messages
	$(PY) manage.py check --fail-level WARNING
	DEBUG=false ALLOWED_HOSTS=vmlab.example \
		$(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	@# The API's OpenAPI description: complete, valid, and without a single warning.
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# The LDAP tests start Debian's slapd: installed when missing (as root), like Chromium in .ci/run.
test-system-packages:
	@bash scripts/system_packages.sh test

test-sqlite: $(VENV)/.dev .env test-system-packages messages
	@echo "== pytest on SQLite =="
	DATABASE_URL=sqlite:///:memory: $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev .env test-system-packages messages
	@bash scripts/test_postgres.sh "$(POSTGRES_TEST_URL)" $(PY) -m pytest $(PYTEST_ARGS)

test: lint check test-sqlite test-postgres

# Measurements on loopback (PostgreSQL and Redis as for serve-prod): each script prints its figures, its ratio
# last, and bench/RESULTS.md gets them all with the date. BENCH="dashboard load" runs only those.
bench: $(VENV)/.dev messages
	$(PY) bench/run.py

# Where one page's time goes (SQL, ORM, templates, the rest, top cProfile entries) on a throwaway database filled
# like the benchmarks': `make profile URL=/bookmarks/ AS=bench-admin`.
# (make's own AS names the assembler: only an AS given on the command line or in the environment counts.)
URL ?= /
profile: $(VENV)/.dev messages
	$(PY) bench/profile_page.py "$(URL)" --as "$(if $(filter default,$(origin AS)),bench-manager,$(AS))"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
