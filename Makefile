# The verbs a person uses. Everything a target needs, it installs first (a fresh machine needs only python3.11).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
PORT ?= 3000
STAGE ?= dev
PIP_QUIET := --quiet --disable-pip-version-check
# The artifact the tests run: sam build for this machine's architecture (the deploy default stays arm64).
ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
ARTIFACT_DIR := .aws-sam/$(ARCH)
export SAM_CLI_TELEMETRY := 0

# The web console (web/): npm's lockfile pins it; `make web` rebuilds web/dist only when a source changed.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs

.PHONY: help setup tools load stress soak web web-test chromium deploy-web artifact typecheck run test unit integration e2e lint format validate openapi openapi-check fuzz bench build deploy clean

help:
	@echo "make run       start the local stack (every route of template.yaml) with a live demo event on :$(PORT)"
	@echo "make test      install what is needed, then lint, type-check, validate the template, check the OpenAPI file,"
	@echo "               build the artifact and import every handler from it, run every test (every core), then the"
	@echo "               OpenAPI contract fuzz"
	@echo "make bench     benchmarks that print figures (results in bench/RESULTS.md)"
	@echo "make load      Locust against the local stack over loopback (4 min; figures in bench/LOAD.md); make stress: the"
	@echo "               feed ramps to the knee; make soak: DURATION=1800 s at a moderate rate (memory, lost trades)"
	@echo "make fuzz      the OpenAPI contract fuzz with a bigger budget (EXAMPLES=200 per operation and role)"
	@echo "make web       build the web console (web/dist; npm ci the first time); make run serves it at /"
	@echo "make openapi   regenerate docs/openapi.json from the handlers"
	@echo "make artifact  sam build for this machine, then import every handler from the build output as Lambda would"
	@echo "make build     sam build (arm64);  make deploy STAGE=dev|prod  sam deploy with samconfig.toml, then the web console"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements-dev.txt layers/shared/python/requirements.txt
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

web/node_modules/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required to build the web console"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && node build.mjs

web: web/dist/index.html

# The console's own logic (decimal maths and formatting, the live leaderboard's diffs) under node's test runner.
web-test: web/node_modules/.installed
	cd web && node --test test/

# The browser tests drive Debian's Chromium (never a browser Playwright would download).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The load tool's own venv: Locust brings gevent, which the product's venv does not need.
LOAD_VENV := .venv-load
$(LOAD_VENV)/.installed: requirements-load.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(LOAD_VENV)/bin/pip install $(PIP_QUIET) -r requirements-load.txt
	@touch $@

# Each starts its own local stack on free loopback ports and stops it; not part of `make test`. DURATION in seconds.
load: setup $(LOAD_VENV)/.installed
	$(BIN)/python -m bench load --mode load $(if $(DURATION),--duration $(DURATION))

stress: setup $(LOAD_VENV)/.installed
	$(BIN)/python -m bench load --mode stress $(if $(STEPS),--steps $(STEPS))

soak: setup $(LOAD_VENV)/.installed
	$(BIN)/python -m bench load --mode soak --duration $(or $(DURATION),1800)

artifact: setup tools
	$(TOOLS)/bin/sam build --template-file template.yaml --build-dir $(ARTIFACT_DIR) --cache-dir .aws-sam/cache-$(ARCH) \
		--cached --parallel --parameter-overrides Architecture=$(ARCH)
	$(BIN)/python tools/artifact.py check $(ARTIFACT_DIR)

# ARENA_DEMO=0 make run: no demo event or simulator. LOG_LEVEL=INFO (or DEBUG) make run: louder logs.
# INGEST_GRACE_SECONDS=30 make run: ended events take late trades for 30 s instead of 300.
# make run ARTIFACT=1: the same stack from what sam build wrote (built and import-checked first).
RUN_TEMPLATE := $(if $(filter 1,$(ARTIFACT)),$(ARTIFACT_DIR)/template.yaml,template.yaml)
run: setup web $(if $(filter 1,$(ARTIFACT)),artifact)
	@PORT=$(PORT) ARENA_DEMO=$(or $(ARENA_DEMO),1) ARENA_ENV_FILE=.local/env.sh $(BIN)/python -m local --template $(RUN_TEMPLATE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy as pyproject.toml's [tool.mypy] says: the shared layer's arena package, strict for arena.domain and arena.models.
typecheck: setup
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The parent template and every nested stack it deploys (stacks/*.yaml), each on its own.
STACK_TEMPLATES := template.yaml $(wildcard stacks/*.yaml)
validate: tools
	$(TOOLS)/bin/cfn-lint --include-checks I -- $(STACK_TEMPLATES)
	for stack in $(STACK_TEMPLATES); do \
		$(TOOLS)/bin/sam validate --lint --region us-east-1 --template-file $$stack || exit 1; \
	done

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

# The subprocess-started e2e stacks run the artifact (ARENA_TEMPLATE); in-process ones run the source tree.
# Every core, one test file per worker (module fixtures stay whole); then the contract fuzz on its own, so its
# table of requests and statuses per operation and role is printed (a worker's would not be).
test: setup lint typecheck validate openapi-check artifact web web-test chromium
	ARENA_TEMPLATE=$(ARTIFACT_DIR)/template.yaml $(BIN)/python -m pytest -q -ra --durations=10 -n auto --dist loadfile \
		--ignore=tests/contract
	$(BIN)/python -m pytest -q -ra tests/contract

# The contract fuzz of `make test` with a bigger budget; it prints requests sent and statuses per operation and role.
fuzz: setup
	ARENA_CONTRACT_EXAMPLES=$(or $(EXAMPLES),200) $(BIN)/python -m pytest tests/contract -q

bench: setup
	$(BIN)/python -m bench

build: tools
	$(TOOLS)/bin/sam build --template-file template.yaml

deploy: build web
	$(TOOLS)/bin/sam deploy --config-env $(STAGE)
	$(MAKE) deploy-web STAGE=$(STAGE)

# The web console to the stage's S3 + CloudFront (stacks/web.yaml), with the stage's config.json.
deploy-web: setup web
	$(BIN)/python tools/web_deploy.py --stack arena-$(STAGE) --stage $(STAGE)

clean:
	rm -rf $(VENV) $(TOOLS) $(LOAD_VENV) .aws-sam .local
