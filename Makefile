# Two commands: `make run` (demo on http://127.0.0.1:5000) and `make test` (SQLite, then PostgreSQL).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
DEV := APP_ENV=development

.PHONY: run test test-sqlite test-postgres lint fmt bench system-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(DEV) $(BIN)/flask --app wsgi db upgrade
	$(DEV) $(BIN)/flask --app wsgi demo
	$(DEV) $(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

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
