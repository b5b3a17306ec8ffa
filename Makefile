# The same commands locally and in CI (.ci/run calls `make test`).
#   make run     set up, then serve on http://127.0.0.1:8000 (SQLite, development mode)
#   make test    set up, then lint, type-check and run the whole test suite
#   make token   print a development token (USER_ID=alice by default)
#   make bench   run the benchmarks (PostgreSQL)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BETTER_AUTH := tests/interop/betterauth
USER_ID ?= alice

.PHONY: setup run token test lint pytest migrate bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The real Better Auth server the interop test issues tokens from (Node, from npm).
$(BETTER_AUTH)/node_modules/.package-lock.json: $(BETTER_AUTH)/package-lock.json
	npm ci --prefix $(BETTER_AUTH) --no-audit --no-fund --loglevel=error

run: setup
	$(BIN)/python -m server serve

token: setup
	@$(BIN)/python -m server token $(USER_ID)

migrate: setup
	$(BIN)/python -m server migrate

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: setup $(BETTER_AUTH)/node_modules/.package-lock.json
	$(BIN)/pytest

test: lint pytest

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(BETTER_AUTH)/node_modules
