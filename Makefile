# make plan / make test work on a fresh machine with no cloud account: the first run makes .venv.
PYTHON ?= python3
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SCHEMAS := tests/k8s_schemas/node_modules/.installed

.PHONY: venv plan test lint format bench preview up clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

plan: $(STAMP)  ## the offline plan of a stack (STACK=dev by default)
	$(PY) -m preflight plan --stack $(STACK)

# CRD validators for the custom resources the serving stack makes (pinned in package.json).
$(SCHEMAS): tests/k8s_schemas/package.json
	npm install --prefix tests/k8s_schemas --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $(SCHEMAS)

test: $(STAMP) $(SCHEMAS)  ## the whole test suite, offline
	$(PY) -m pytest -q

lint: $(STAMP)  ## ruff, a type check against the SDKs' own type hints, actionlint on the users' workflows
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/actionlint

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)  ## synthesis and policy figures (see README)
	$(PY) benchmarks/synthesis.py
	$(PY) benchmarks/policy.py

preview:  ## real CLI and credentials: pulumi preview --stack $(STACK) with the policy pack
	pulumi preview --stack $(STACK) --policy-pack policies

up:  ## real CLI and credentials, with the policy pack
	pulumi up --stack $(STACK) --policy-pack policies

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/k8s_schemas/node_modules policies/venv
