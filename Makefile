# The same commands locally and in CI (.ci/run calls `make test`).
#   make run     set up, then serve on http://127.0.0.1:8000 (SQLite, development mode)
#   make check   set up, then lint, type-check and run the fast tests (no servers; under a minute)
#   make test    set up, then lint, type-check and run the whole test suite
#   make floors  run the fast tests on the lowest dependency versions the pyproject.toml files allow
#   make token   print a development token (USER_ID=alice by default)
#   make bench   run the benchmarks (PostgreSQL)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BETTER_AUTH := tests/interop/betterauth
ECOSYSTEM := tests/ecosystem
TS_CONSUMER := tests/browser/ts-consumer
EXAMPLE := examples/react-vite
USER_ID ?= alice
# pytest-xdist workers for `make test` (tests/conftest.py keeps each file on one worker).
TEST_WORKERS ?= 2
# The fast layer: tests that start no server and no database server. tests/unit holds
# the ones written for it; the rest are server-free tests that live beside the
# end-to-end ones of their area. `make pytest` leaves them out, so that `make test`
# (check, floors, pytest) runs each test once.
FAST_TESTS := tests/unit tests/clients/test_merge_rules.py tests/clients/test_exported_members.py \
	tests/test_eager.py tests/test_error_mapping.py tests/test_log_lines.py tests/limits/test_local_store.py \
	tests/bench/test_breakdown.py tests/hosts/test_documented_config.py tests/test_contract_copy.py \
	tests/test_docs_links.py tests/test_change_flow.py
FLOORS := $(VENV)-floors
# The dev list's test runner and plugins, with their floors as pyproject.toml writes them.
FLOOR_RUNNER = $(shell $(BIN)/python -c 'import shlex, tomllib; \
	dev = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dev"]; \
	print(" ".join(shlex.quote(r) for r in dev if r.startswith("pytest")))')

.PHONY: setup lock run token test check floors lint pytest migrate bench clean chromium haproxy js-types

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)

# Every version is locked in constraints.txt, so a fresh machine installs exactly what
# the suite passed on.
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' -e clients/python
	touch $@

# Re-resolve the dependency ranges of both pyproject.toml files in a clean virtualenv
# and write the result to constraints.txt.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --upgrade pip
	$(VENV)-lock/bin/pip install --quiet '.[dev]' ./clients/python
	{ echo "# The locked versions every install uses (make setup: pip install -c constraints.txt)."; \
	  echo "# Regenerate with \`make lock\` after changing a dependency range in a pyproject.toml."; \
	  $(VENV)-lock/bin/pip freeze --all --exclude tasksync --exclude tasksync-client \
	    | grep -v -e '^setuptools==' -e '^wheel=='; } > constraints.txt
	rm -rf $(VENV)-lock

setup: $(VENV)/.installed

# The real Better Auth server the interop test issues tokens from (Node, from npm).
$(BETTER_AUTH)/node_modules/.package-lock.json: $(BETTER_AUTH)/package-lock.json
	npm ci --prefix $(BETTER_AUTH) --no-audit --no-fund --loglevel=error

# The official tools the ecosystem tests run: @asyncapi/parser, openapi-typescript, tsc.
$(ECOSYSTEM)/node_modules/.package-lock.json: $(ECOSYSTEM)/package-lock.json
	npm ci --prefix $(ECOSYSTEM) --no-audit --no-fund --loglevel=error

# The browser client's npm package checks: TypeScript, React and their types (exact
# versions) for the consumer project that installs `npm pack` of clients/js, and React
# for the real-browser test of tasksync/react.
$(TS_CONSUMER)/node_modules/.package-lock.json: $(TS_CONSUMER)/package-lock.json
	npm ci --prefix $(TS_CONSUMER) --no-audit --no-fund --loglevel=error

# The React example app, built as a user would: `npm ci` (exact versions, and the client
# as `npm pack` makes it: the example's .npmrc sets install-links), then `tsc` and `vite
# build`. tests/browser/test_example_app.py serves its dist/ in Chromium.
$(EXAMPLE)/dist/index.html: $(EXAMPLE)/package-lock.json $(EXAMPLE)/.npmrc $(EXAMPLE)/index.html \
	$(wildcard $(EXAMPLE)/*.json $(EXAMPLE)/*.ts $(EXAMPLE)/src/*) \
	clients/js/package.json $(wildcard clients/js/*.js clients/js/types/*.d.ts)
	npm ci --prefix $(EXAMPLE) --no-audit --no-fund --loglevel=error
	npm run --prefix $(EXAMPLE) --silent build

# Regenerate the browser client's TypeScript declarations (clients/js/types/) from its
# JSDoc; a test fails while they are stale.
js-types: $(TS_CONSUMER)/node_modules/.package-lock.json
	$(TS_CONSUMER)/node_modules/.bin/tsc -p $(TS_CONSUMER)/tsconfig.declarations.json

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

# Debian's Chromium for the real-browser tests (Playwright drives it; never `playwright
# install`). Installing needs root (or sudo under CI: CI=1, true or yes, in any case, as
# tests/support.py's under_ci() reads it); elsewhere those tests skip.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	elif case "$$(printf %s "$$CI" | tr A-Z a-z)" in 1|true|yes|on) true;; *) false;; esac; then \
	  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "note: /usr/bin/chromium is missing and installing it needs root" \
	  "(apt-get install chromium); the browser tests will be skipped"; fi

# Debian's HAProxy, nginx and iproute2 for the multi-host tests (tests/hosts: network
# namespaces behind a real load balancer, run as root; they skip elsewhere, and fail
# under CI). Installed like Chromium above.
haproxy:
	@if [ -x /usr/sbin/haproxy ] && [ -x /usr/sbin/nginx ] && command -v ip >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy nginx-light iproute2; \
	elif case "$$(printf %s "$$CI" | tr A-Z a-z)" in 1|true|yes|on) true;; *) false;; esac; then \
	  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy nginx-light iproute2; \
	else echo "note: haproxy, nginx or ip (iproute2) is missing and installing them needs root" \
	  "(apt-get install haproxy nginx-light iproute2); the multi-host tests will be skipped"; fi

check: lint
	$(BIN)/pytest -n0 $(FAST_TESTS)

# The lowest versions the two pyproject.toml files allow (uv's lowest-direct resolution:
# every range at its floor), with the test runner at its floors too, in a virtualenv of
# their own; the fast tests run there, so a floor the code does not work with fails.
# The other dev tools (linters, browsers, docs) are not installed there.
floors: setup
	rm -rf $(FLOORS)
	$(PYTHON) -m venv $(FLOORS)
	$(BIN)/uv pip install --quiet --python $(FLOORS)/bin/python --resolution lowest-direct \
	  -e . -e clients/python $(FLOOR_RUNNER)
	$(FLOORS)/bin/pytest -n0 $(FAST_TESTS)

# Everything but the fast layer (`make check` runs that).
pytest: setup chromium haproxy $(BETTER_AUTH)/node_modules/.package-lock.json \
	$(ECOSYSTEM)/node_modules/.package-lock.json $(TS_CONSUMER)/node_modules/.package-lock.json \
	$(EXAMPLE)/dist/index.html
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(addprefix --ignore=,$(FAST_TESTS))

test: check floors pytest

bench: setup haproxy
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(FLOORS) var .pytest_cache .mypy_cache .ruff_cache $(BETTER_AUTH)/node_modules $(TS_CONSUMER)/node_modules \
	$(EXAMPLE)/node_modules $(EXAMPLE)/dist
