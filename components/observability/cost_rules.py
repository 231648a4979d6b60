"""The cost rules: rules/cost.yaml in every footprint, rules/cost_fleet.yaml on the central Prometheus.

Plain rule files, like rules.py's, so promtool checks and tests exactly what is deployed (rules/tests/cost_test.yaml,
cost_fleet_test.yaml). The figures they join against come from config as constant series:
- `mlplatform:egress_assumption_bytes` (every footprint): the internet egress a month `preflight cost` assumes;
- `mlplatform:cost_budget_monthly_dollars` (central): mlplatform:observability.monthlyBudgetUsd, when set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.observability.contract import MonitoringArgs
from components.observability.rules import (
    CONFIG_GROUP,
    CONSTANT_INTERVAL,
    FLEET_GROUP,
    RULES_DIR,
    constant_rule,
    rule_groups,
)

COST_RULES = RULES_DIR / "cost.yaml"
COST_FLEET_RULES = RULES_DIR / "cost_fleet.yaml"
COST_CONFIG_GROUP = "mlplatform-cost-config"
COST_FLEET_CONFIG_GROUP = "mlplatform-cost-budget"
BYTES_PER_GB = 1e9  # the clouds bill egress per GB of 10^9 bytes


def _constants(name: str, figures: dict[str, float]) -> dict[str, Any]:
    rules = [constant_rule(record, value) for record, value in figures.items()]
    return {"name": name, "interval": CONSTANT_INTERVAL, "rules": rules}


def _with(spec: dict[str, Any], path: Path, constants: dict[str, Any] | None) -> dict[str, Any]:
    """The spec's static groups, then the cost groups, then the generated groups (rules.py's stay last)."""
    groups = list(spec["groups"])
    generated = [group for group in groups if group["name"] in (CONFIG_GROUP, FLEET_GROUP)]
    static = [group for group in groups if group not in generated]
    return {"groups": [*static, *rule_groups(path), *([constants] if constants is not None else []), *generated]}


def with_cost_rules(spec: dict[str, Any], args: MonitoringArgs) -> dict[str, Any]:
    """A footprint's rule spec with the cost rules and the egress assumption added."""
    egress = {"mlplatform:egress_assumption_bytes": args.egress_assumption_gb * BYTES_PER_GB}
    return _with(spec, COST_RULES, _constants(COST_CONFIG_GROUP, egress))


def with_fleet_cost_rules(spec: dict[str, Any], budget_monthly_usd: float | None) -> dict[str, Any]:
    """The central rule spec with the fleet cost rules, and the budget when the stack sets one."""
    budget = None
    if budget_monthly_usd is not None:
        budget = _constants(COST_FLEET_CONFIG_GROUP, {"mlplatform:cost_budget_monthly_dollars": budget_monthly_usd})
    return _with(spec, COST_FLEET_RULES, budget)
