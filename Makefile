# The verbs a person uses. Everything a target needs, it installs first (a fresh machine needs only python3.11).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
PORT ?= 3000
STAGE ?= dev
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: help setup tools run test unit integration e2e lint format validate openapi openapi-check bench build deploy clean

help:
	@echo "make run       start the local stack (every route of template.yaml) with a live demo event on :$(PORT)"
	@echo "make test      install what is needed, then lint, validate the template, check the OpenAPI file, run every test"
	@echo "make bench     benchmarks that print figures (results in bench/RESULTS.md)"
	@echo "make openapi   regenerate docs/openapi.json from the handlers"
	@echo "make build     sam build;  make deploy STAGE=dev|prod  sam deploy with samconfig.toml"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements-dev.txt layers/shared/python/requirements.txt layers/runtime-provided.txt
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/pip install $(PIP_QUIET) -r requirements-dev.txt
	@touch $@

$(TOOLS)/.installed: requirements-tools.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(TOOLS)/bin/pip install $(PIP_QUIET) -r requirements-tools.txt
	@touch $@

setup: $(VENV)/.installed
tools: $(TOOLS)/.installed

# ARENA_DEMO=0 make run: no demo event or simulator. LOG_LEVEL=INFO (or DEBUG) make run: louder logs.
# INGEST_GRACE_SECONDS=30 make run: ended events take late trades for 30 s instead of 300.
run: setup
	@PORT=$(PORT) ARENA_DEMO=$(or $(ARENA_DEMO),1) ARENA_ENV_FILE=.local/env.sh $(BIN)/python -m local

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: tools
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template-file template.yaml

openapi: setup
	$(BIN)/python tools/openapi.py

openapi-check: setup
	$(BIN)/python tools/openapi.py --check

unit: setup
	$(BIN)/python -m pytest tests/unit -q

integration: setup
	$(BIN)/python -m pytest tests/integration tests/local -q

e2e: setup
	$(BIN)/python -m pytest tests/e2e -q -s

test: setup lint validate openapi-check
	$(BIN)/python -m pytest -q -ra --durations=10

bench: setup
	$(BIN)/python -m bench

build: tools
	$(TOOLS)/bin/sam build --template-file template.yaml

deploy: build
	$(TOOLS)/bin/sam deploy --config-env $(STAGE)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .local
