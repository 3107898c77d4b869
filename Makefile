# SignBridge: the Makefile is the interface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install lint format typecheck test test-unit test-integration test-infra test-e2e clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install runtime + development dependencies

lint: $(STAMP)  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff format and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)  ## mypy on the Lambda code
	$(BIN)/mypy

test-unit: $(STAMP)  ## unit tests (no sockets)
	$(BIN)/pytest tests/unit -q

test-integration: $(STAMP)  ## store, files, providers against moto and the simulators
	$(BIN)/pytest tests/integration -q -n 2

test-infra: $(STAMP)  ## CDK template assertions, cdk-nag and cfn-lint (synthesizes twice, no bundling, no AWS)
	$(BIN)/pytest tests/infra -q -m infra

test: lint typecheck $(STAMP)  ## lint, type check and every test suite
	$(BIN)/pytest -q -n 2 --durations=15

# --- infrastructure (AWS CDK) -------------------------------------------------------------------------------------
STAGE ?= dev
CDK_ARGS ?=
.PHONY: synth cfn-lint deploy diff

synth: $(STAMP)  ## cdk.out/SignBridge-$(STAGE).template.json with the bundled asset, offline (no AWS call), then cfn-lint
	CDK_CONTEXT_JSON='{"stage": "$(STAGE)"}' $(BIN)/python app.py
	@$(MAKE) --no-print-directory cfn-lint

cfn-lint: $(STAMP)  ## cfn-lint the synthesized template (run `make synth` first)
	$(BIN)/python -m infra.lint cdk.out/SignBridge-$(STAGE).template.json

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

deploy: $(STAMP) node_modules  ## deploy SignBridge-$(STAGE) with the current AWS credentials (STAGE=prod CDK_ARGS="-c k=v")
	npx cdk deploy -c stage=$(STAGE) $(CDK_ARGS) --require-approval broadening

diff: $(STAMP) node_modules  ## what `make deploy` would change in SignBridge-$(STAGE)
	npx cdk diff -c stage=$(STAGE) $(CDK_ARGS)

clean:  ## remove build output (keeps .venv)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
