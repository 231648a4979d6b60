# make plan / make test work on a fresh machine with no cloud account: the first run makes .venv.
PYTHON ?= python3
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SCHEMAS := tests/k8s_schemas/node_modules/.installed

.PHONY: venv tools plan test lint format bench preview up clean diagram

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages: promtool (prometheus) checks the alert rules, amtool (prometheus-alertmanager) the alert routes,
# rclone runs the model sync test, graphviz draws `preflight diagram`, shellcheck lets actionlint check the workflows'
# scripts.
TOOLS := promtool:prometheus amtool:prometheus-alertmanager rclone:rclone dot:graphviz shellcheck:shellcheck
tools:  ## install the system tools lint and tests need (apt-get; root)
	@missing="$$(for t in $(TOOLS); do command -v $${t%%:*} >/dev/null || echo $${t##*:}; done)"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

plan: $(STAMP)  ## the offline plan of a stack (STACK=dev by default)
	$(PY) -m preflight plan --stack $(STACK)

# MLServer (the client tests' real V2 servers) in its own venv: its dependencies must not move the SDK pins.
MLSERVER_VENV := .venv-mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed

$(MLSERVER_STAMP): tests/mlserver/requirements.txt
	@test -x $(MLSERVER_VENV)/bin/python || $(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/mlserver/requirements.txt
	@touch $(MLSERVER_STAMP)

# Azurite, the Azure storage emulator the model sync test runs (pinned in package.json).
EMULATORS := tests/emulators/node_modules/.installed
$(EMULATORS): tests/emulators/package.json
	npm install --prefix tests/emulators --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $(EMULATORS)

# CRD validators for the custom resources the serving stack makes (pinned in package.json).
$(SCHEMAS): tests/k8s_schemas/package.json
	npm install --prefix tests/k8s_schemas --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $(SCHEMAS)

test: $(STAMP) $(SCHEMAS) $(EMULATORS) $(MLSERVER_STAMP)  ## the whole test suite, offline
	$(PY) -m pytest -q

lint: $(STAMP)  ## ruff, mypy against the SDKs' type hints, actionlint on the workflows, promtool on the alert rules
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/actionlint
	promtool check rules components/observability/rules/*.yaml
	cd components/observability/rules/tests && promtool test rules *.yaml

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP) $(MLSERVER_STAMP)  ## synthesis, policy and client figures (see README)
	$(PY) benchmarks/synthesis.py
	$(PY) benchmarks/policy.py
	$(PY) benchmarks/client.py

preview:  ## real CLI and credentials: pulumi preview --stack $(STACK) with the policy pack
	pulumi preview --stack $(STACK) --policy-pack policies

diagram: $(STAMP)  ## redraw docs/platform.svg from the prod plan
	$(PY) -m preflight diagram --stack prod --out docs/platform.svg

up:  ## real CLI and credentials, with the policy pack
	pulumi up --stack $(STACK) --policy-pack policies

clean:
	rm -rf $(VENV) $(MLSERVER_VENV) .pytest_cache .mypy_cache .ruff_cache tests/k8s_schemas/node_modules tests/emulators/node_modules policies/venv
