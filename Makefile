# The two commands of the README: `make demo` and `make test`.
#
# One .venv serves both. `make demo` installs the package with its runtime dependencies only
# (about 10 s with the package index reachable); `make test` adds the test tools on top of the
# same install, so neither redoes the other's work. Each step says what it is doing: a first-time
# user never stares at a silent terminal.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
RUNTIME_STAMP := $(VENV)/.runtime-stamp
TEST_STAMP    := $(VENV)/.test-stamp
NODE_DIR      := tests/node
NODE_STAMP    := $(NODE_DIR)/node_modules/.installed-stamp

.PHONY: demo test lint typecheck unit system-deps node-deps bench clean

$(BIN)/python:
	@echo "make: creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# The package and what it needs at run time: all that `make demo` needs.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing recording-auditor (runtime dependencies only) into $(VENV)"
	$(PIP) install -e .
	touch $@

# The same install plus the test tools (pytest, moto, linters, the optional extras).
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing recording-auditor with its test tools into $(VENV)"
	$(PIP) install -e '.[test]'
	touch $@ $(RUNTIME_STAMP)

# The real consumers and counterparts the tests run against (s3rver, axe-core, SARIF Multitool,
# yaml-language-server), pinned by tests/node/package-lock.json.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@echo "make: installing the npm test tools into $(NODE_DIR)/node_modules"
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## demo: build a sample practice with real recordings, scan it, write HTML + JSON reports
demo: $(RUNTIME_STAMP)
	@$(BIN)/python scripts/demo.py --out build/demo

system-deps:
	./scripts/install-system-deps.sh

node-deps: $(NODE_STAMP)

lint: $(TEST_STAMP)
	$(BIN)/ruff check auditor tests bench scripts
	$(BIN)/ruff format --check auditor tests bench scripts

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

unit: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest

## test: install what the tests need, lint, type-check, run every test
test: system-deps $(TEST_STAMP) node-deps lint typecheck unit

bench: $(TEST_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
