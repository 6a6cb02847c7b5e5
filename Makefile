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

.PHONY: run demo-reset ledger-verify test test-sqlite test-postgres lint fmt bench system-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Each run plans the demo's running session again and prints the logins and trainee codes.
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

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

fmt: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
