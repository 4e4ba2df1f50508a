# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed


.PHONY: demo demo-org bench-org test replay lint clean deploy spoke fast-path build sam-build python313

# `sam build` needs python3.13, Lambda's runtime. Where it is not on the path but pyenv has one
# installed, it is put beside the current version (PYENV_VERSION=3.11.7:3.13.0).
PY313_ENV := $(shell python3.13 -c '' 2>/dev/null || v=$$(pyenv versions --bare 2>/dev/null | grep -m1 '^3\.13'); [ -n "$$v" ] && echo "PYENV_VERSION=$$(pyenv version-name):$$v")
SAM := $(PY313_ENV) SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam

$(INSTALLED): requirements-dev.txt constraints.txt layers/warden/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(INSTALLED)

## demo: set up, then run the quarantine scenario on the local twin (no AWS account needed)
demo: $(INSTALLED)
	$(PY) -m local demo

## demo-org: organization mode on the twin: a hub, two member accounts, a forged event, a silent spoke
demo-org: $(INSTALLED)
	$(PY) -m local demo --org

## test: set up, then lint, sam build, then run unit and end-to-end tests, cfn-lint and `sam validate --lint`
test: $(INSTALLED) lint build
	SAM_CLI_TELEMETRY=0 $(PY) -m pytest

## lint: ruff (pyproject.toml [tool.ruff.lint]: unused or undefined names, likely bugs)
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

## build: sam build as Lambda runs it (python3.13, arm64) into .aws-sam/build; on a machine that is not arm64,
## also an x86_64 twin of the layer (.aws-sam/x86_64, with its own build graph: else SAM reuses a cache that
## the arm64 build's source hashes validate), so tests/unit/test_build.py can import the handlers
## here from the built artifact (arm64 wheels such as pydantic_core's do not load on x86_64). Both cached by SAM.
build: $(INSTALLED) sam-build
sam-build:
	$(SAM) build
ifeq ($(filter aarch64 arm64,$(shell uname -m)),)
	LAYER_PLATFORM=manylinux2014_x86_64 $(SAM) build WardenLayer --build-dir .aws-sam/x86_64/build --cache-dir .aws-sam/x86_64/cache
endif

## python313: print the python3.13 that `sam build` uses
python313:
	@$(PY313_ENV) python3.13 -c 'import sys; print(sys.executable)'

## replay EVENT=path.json [MODE=enforce]: run one event file through the twin
replay: $(INSTALLED)
	$(PY) -m local replay $(EVENT) --mode $(or $(MODE),enforce)

## bench-org: organization mode at scale on the twin: 20 accounts, 1,000 events (10-20 minutes)
bench-org: $(INSTALLED)
	$(PY) bench/org_storm.py

## spoke: regenerate spoke.yaml (organization mode's member template) from template.yaml
spoke: $(INSTALLED)
	$(PY) -m warden_ops.spoke > spoke.yaml

## fast-path: regenerate the Express workflow (statemachines/fast_path.asl.json) from the Standard one
fast-path: $(INSTALLED)
	$(PY) -m warden_ops.fast_path > statemachines/fast_path.asl.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .aws-sam

# ---- evidence (issue 7): the IaC scanner and the benchmark, each in its own venv -------------
# checkov and Cloud Custodian pin boto3 versions that conflict with requirements-dev.txt, so each
# gets a venv inside .venv/ (git-ignored, removed by `make clean`).
SCAN_VENV := $(VENV)/scan
SCAN_INSTALLED := $(SCAN_VENV)/.installed
BENCH_VENV := $(VENV)/bench
BENCH_INSTALLED := $(BENCH_VENV)/.installed
CUSTODIAN_VENV := $(VENV)/custodian
CUSTODIAN_INSTALLED := $(CUSTODIAN_VENV)/.installed

.PHONY: scan bench

$(SCAN_INSTALLED): tests/robustness/requirements-scan.txt tests/robustness/constraints-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/robustness/requirements-scan.txt -c tests/robustness/constraints-scan.txt
	touch $(SCAN_INSTALLED)

# tests/robustness/test_iac_scan.py runs checkov from the scanner venv.
test: $(SCAN_INSTALLED)

## scan: checkov over template.yaml, with the reviewed suppressions of tests/robustness/.checkov.yaml
scan: $(SCAN_INSTALLED)
	$(SCAN_VENV)/bin/checkov --config-file tests/robustness/.checkov.yaml -f template.yaml

$(BENCH_INSTALLED): bench/requirements.txt bench/constraints.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt -c bench/constraints.txt
	touch $(BENCH_INSTALLED)

# Cloud Custodian's cold start runs from what its Lambda holds: the c7n package without bytecode (c7n.mu
# ships .py files only) beside the SDK the python3.13 runtime provides.
$(CUSTODIAN_INSTALLED): bench/requirements-custodian.txt bench/requirements.txt bench/constraints.txt
	$(PY313_ENV) python3.13 -m venv $(CUSTODIAN_VENV)
	$(CUSTODIAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-custodian.txt -c bench/constraints.txt
	$(CUSTODIAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps $$(grep '^c7n==' bench/requirements.txt)
	find $(CUSTODIAN_VENV)/lib -path '*/c7n/*' -name __pycache__ -prune -exec rm -rf {} +
	touch $(CUSTODIAN_INSTALLED)

## bench: Warden vs Cloud Custodian, every goal of issue 15 beside its figure (cold starts from `make build`)
bench: $(INSTALLED) build $(BENCH_INSTALLED) $(CUSTODIAN_INSTALLED)
	SAM_CLI_TELEMETRY=0 $(BENCH_VENV)/bin/python bench/benchmark.py

## deploy [PARAMS="Mode=enforce ..."]: sam build, then sam deploy of the stack "warden" (samconfig.toml), with
## DeployerPrincipalArn set to you. Parameters not named keep their deployed value (SAM's UsePreviousValue);
## the first deploy takes the template's defaults (Mode dry-run). Needs AWS credentials and a region.
deploy: $(INSTALLED)
	$(SAM) build
	$(SAM) deploy --parameter-overrides \
	  DeployerPrincipalArn=$$($(PY) -m warden_ops.deployer) $(PARAMS)
