# Two commands matter: `make demo` (the main job, locally) and `make test` (every check CI runs).
# Each sets up what it needs first: a .venv/ at the repo root from requirements/dev.lock,
# and node_modules/ (CDK CLI v2, asl-validator) from package-lock.json.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint synth bench clean lock audit fuzz

$(STAMP): requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

setup: $(STAMP) node_modules/.installed

demo: $(STAMP)
	$(BIN)/imgflow demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

synth: setup
	$(BIN)/python -m infra.synth

# Strict: fails when the vulnerability database cannot be reached (make test reports that as a skip).
audit: $(STAMP)
	$(BIN)/python -m tests.deps_audit --strict

# A long fuzz run of validate and extract_meta: make fuzz ARGS="--cases 100000 --seed 7"
fuzz: $(STAMP)
	$(BIN)/python -W ignore -m tests.fuzz $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^imgflow' > requirements/dev.lock

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
