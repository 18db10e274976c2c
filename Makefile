# Two commands matter: `make demo` (the main job, locally) and `make test` (every check CI runs).
# Each sets up what it needs first: a .venv/ at the repo root from requirements/dev.lock,
# and node_modules/ (CDK CLI v2, asl-validator) from package-lock.json.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint synth bench clean lock audit fuzz browser

$(STAMP): requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

# The web page (web/src -> web/dist): what `imgflow serve` serves and the CDK app deploys.
web/dist/manifest.json: $(wildcard web/src/*) web/build.py $(STAMP) node_modules/.installed
	$(BIN)/python -m web.build

setup: $(STAMP) node_modules/.installed web/dist/manifest.json

# The browser tests' Chromium: Debian's package (never a test tool's own browser download), as root, once.
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

demo: $(STAMP)
	$(BIN)/imgflow demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

test: setup lint browser
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
