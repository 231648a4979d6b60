"""Each stack is synthesized once per test session; tests read the recorded plan."""

from __future__ import annotations

import pytest

from preflight.cli import plan_stack
from preflight.plan import Plan
from preflight.synthesize import PROJECT_DIR


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return plan_stack(PROJECT_DIR, "dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return plan_stack(PROJECT_DIR, "prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_plan(request: pytest.FixtureRequest, dev_plan: Plan, prod_plan: Plan) -> Plan:
    return dev_plan if request.param == "dev" else prod_plan
