# qbo-sync developer entry points. Every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
SHELL := /bin/bash

.PHONY: lock install demo test test-sqlite test-postgres lint postgres chromium sandbox clean bench bench-quick bench-workers reliability

# Installs exactly the pinned, hash-checked versions of requirements/dev.lock (runtime +
# dev extras), then the project itself without resolving anything again. Production and
# CI images install requirements/runtime.lock the same way.
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

## Re-resolve the lock files from pyproject.toml (pip-tools, with hashes). Existing pins are
## kept unless pyproject needs otherwise; `make lock LOCK_ARGS=--upgrade` takes the newest.
LOCK_ARGS ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
	--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: install
	$(PIP_COMPILE) -o requirements/runtime.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -o requirements/dev.lock pyproject.toml

## The README's first command: a full demo sync against the bundled sandbox.
demo: install
	$(PY) scripts/demo.py

## The README's second command: lint, migrations check, then the suite on SQLite AND on
## PostgreSQL. Each part runs even if an earlier one failed; a summary names what failed and
## the exit code is non-zero if anything did. Browser tests run when /usr/bin/chromium is
## present and are reported as skipped otherwise (`make chromium` installs it; never implicit).
test: install
	@scripts/test_all.sh "$(MAKE)"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run

test-sqlite: install
	DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install postgres
	# A test database of its own per run: parallel runs on one server must not drop each other's.
	DATABASE_URL=$(PG_URL) DATABASE_TEST_NAME=$${DATABASE_TEST_NAME:-test_qbo_$$$$} $(PY) -m pytest $(PYTEST_ARGS)

## Start the local PostgreSQL server if it is down (CI machines have one installed).
postgres:
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1

## Benchmark (issue 20): the realistic company, the 100k-invoice backfill and a 25k-record
## company at 0.25 s a request under QBO's limits; per-page cost against the floor;
## verifysync --ids; idle cycle; memory at 10k/200k records; SQLite and PostgreSQL.
## About 7 minutes on the 2-core machine; bench-quick runs a tenth of it in about one.
bench: install postgres
	$(PY) scripts/bench.py

bench-quick: install postgres
	$(PY) scripts/bench.py --quick

## Benchmark: 50 realms synced by 1, 2 and 4 workers on PostgreSQL (sandbox with latency).
bench-workers: install postgres
	$(PY) scripts/bench_workers.py

## Debian's Chromium for the browser tests (Playwright drives it; no browser download). Root
## only; apt installs about 125 packages. `make test` never runs this by itself.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

## Run the bundled QuickBooks sandbox in the foreground (Ctrl-C stops it).
sandbox: install
	$(PY) manage.py qbo_sandbox --port 8765

## Reliability suite, full configuration (20k-record crash runs, fault storms, token races,
## secrets canary) on SQLite and PostgreSQL; prints scenario/runs/records/lost/duplicated.
reliability: install postgres
	PG_URL=$(PG_URL) $(PY) scripts/reliability.py

clean:
	rm -rf $(VENV) *.egg-info demo.db
