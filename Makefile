# Two commands: `make run` (demo on http://127.0.0.1:5000) and `make test` (SQLite, then PostgreSQL).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
PORT ?= 5000
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
# The local try: built-in secrets, plain-HTTP cookies, the demo data (never in production).
DEV := APP_ENV=development PUBLIC_BASE_URL=$(PUBLIC_BASE_URL)
FLASK := $(DEV) $(BIN)/flask --app wsgi

.PHONY: run demo-reset ledger-verify lock test test-sqlite test-postgres lint fmt bench system-deps clean bench-venv

# Installed from the lock file (exact versions, checked against their hashes), then the
# project itself. `make lock` writes the lock files again after a change of pyproject.toml.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip>=24,<27'
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

LOCK := $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

# Write the lock files from pyproject.toml: requirements/main.txt (the service),
# requirements/prod.txt (with gevent, for the Socket.IO process), requirements/dev.txt (tests
# and tools). Versions already locked stay unless pyproject.toml excludes them; `make lock
# UPGRADE=1` takes the newest versions within pyproject.toml's bounds.
lock: $(VENV)/.installed
	$(LOCK) $(if $(UPGRADE),--upgrade) -o requirements/main.txt pyproject.toml
	$(LOCK) $(if $(UPGRADE),--upgrade) --extra prod -o requirements/prod.txt pyproject.toml
	$(LOCK) $(if $(UPGRADE),--upgrade) --extra dev -o requirements/dev.txt pyproject.toml

# Each run plans the demo's running session again and prints the logins and trainee codes.
# Janus (the virtual class's video) starts beside it on loopback when installed.
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo
	$(DEV) $(BIN)/python -m virtualclass.janus_local $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

# Start the demo over: a new embedded database (instance/competences.db), then `make run`.
demo-reset: $(VENV)/.installed
	rm -f instance/competences.db instance/competences.db-wal instance/competences.db-shm
	$(MAKE) run

# Recompute the signature ledger of the local database (exit 1 on tampering).
ledger-verify: $(VENV)/.installed
	$(FLASK) ledger verify

system-deps:
	@bash scripts/system-deps.sh

test: $(VENV)/.installed system-deps test-sqlite test-postgres

test-sqlite: $(VENV)/.installed
	$(BIN)/python -m pytest

test-postgres: $(VENV)/.installed
	@if $(BIN)/python scripts/servers_up.py "$(PG_URL)" "$(REDIS_TEST_URL)"; then \
		TEST_DATABASE_URL="$(PG_URL)" TEST_REDIS_URL="$(REDIS_TEST_URL)" $(BIN)/python -m pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI: PostgreSQL and Redis are required for the production-path suite." >&2; exit 1; \
	else \
		echo "PostgreSQL or Redis not reachable: production-path suite skipped on this laptop."; \
	fi

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed .venv-prod/.installed
	$(BIN)/python -m bench
	$(BIN)/python -m bench.dashboards --sessions $${BENCH_DASHBOARD_SESSIONS:-700000}

# The virtual class's benchmark runs its Socket.IO servers on gevent, as in production
# (requirements/prod.txt), in an environment of their own: the tests' stays without gevent.
.venv-prod/.installed: pyproject.toml requirements/prod.txt
	$(PYTHON) -m venv .venv-prod
	.venv-prod/bin/pip install -q --upgrade 'pip>=24,<27'
	.venv-prod/bin/pip install -q --require-hashes -r requirements/prod.txt
	.venv-prod/bin/pip install -q --no-deps -e .
	touch $@

bench-venv: .venv-prod/.installed

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
