# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test replay lint clean

$(INSTALLED): requirements-dev.txt constraints.txt layers/warden/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(INSTALLED)

## demo: set up, then run the quarantine scenario on the local twin (no AWS account needed)
demo: $(INSTALLED)
	$(PY) -m local demo

## test: set up, then run unit and end-to-end tests, cfn-lint and `sam validate --lint`
test: $(INSTALLED)
	SAM_CLI_TELEMETRY=0 $(PY) -m pytest

## replay EVENT=path.json [MODE=enforce]: run one event file through the twin
replay: $(INSTALLED)
	$(PY) -m local replay $(EVENT) --mode $(or $(MODE),enforce)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .aws-sam
