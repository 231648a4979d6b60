"""OpenCost in the plan: one release per cluster with units from the price table, and how far those units land from
the per-instance prices (printed: `pytest -s tests/test_opencost.py`); the cost config keys (a model's team, the
fleet's budget) fail with one line naming the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.machine_catalog import machine
from components.observability.opencost import HOURS_PER_MONTH, OpenCostSettings, cost_model, opencost_values
from preflight.cost import price_plan
from preflight.cost_model import Assumptions
from preflight.cost_units import render, unit_gaps
from preflight.plan import Plan
from pricing.pricer import Pricer, catalog_hourly
from pricing.table import load_price_table
from pricing.units import unit_errors, unit_prices
from stacks.config import ConfigError, parse_stack_config
from tests.test_config import GOOD

RELEASE = "kubernetes:helm.sh/v3:Release"
# Within one cluster, on demand, OpenCost's units are off a machine's list price by at most this much (measured: the
# worst is Azure's prod cluster, whose T4 and A10 machines share one GPU price, -45.8 %).
WORST_ON_DEMAND_GAP = 0.5


def releases(plan: Plan) -> list[Any]:
    return [r for r in plan.of_type(RELEASE) if r.inputs.get("chart") == "opencost"]


def test_every_cluster_runs_one_opencost_release(stack_plan: Plan) -> None:
    footprints = {f.name for f in stack_plan.of_type("mlplatform:platform:Footprint")}
    found = releases(stack_plan)
    assert sorted(r.inputs["values"]["opencost"]["exporter"]["defaultClusterId"] for r in found) == sorted(footprints)
    for release in found:
        assert (release.inputs["namespace"], release.inputs["version"]) == ("monitoring", "2.5.17")


def test_opencost_reads_the_chart_prometheus_and_calls_no_pricing_api(prod_plan: Plan) -> None:
    values = releases(prod_plan)[0].inputs["values"]["opencost"]
    assert values["prometheus"]["internal"] == {
        "enabled": True,
        "serviceName": "kube-prometheus-stack-prometheus",
        "namespaceName": "monitoring",
        "port": 9090,
    }
    assert values["exporter"]["extraEnv"]["USE_CUSTOM_PROVIDER"] == "true"
    assert values["metrics"]["serviceMonitor"]["enabled"] is True
    assert values["ui"] == {"enabled": False} and values["mcp"] == {"enabled": False}
    assert values["nodeSelector"] == {"mlplatform.io/role": "system"}


def test_the_cost_model_is_per_month_where_opencost_divides_by_730() -> None:
    settings = OpenCostSettings("t", cpu=0.04, ram=0.005, gpu=0.4, spot_cpu=0.01, spot_ram=0.001, spot_gpu=0.1)
    model = cost_model(settings)
    assert float(model["CPU"]) / HOURS_PER_MONTH == pytest.approx(0.04)
    assert float(model["spotRAM"]) / HOURS_PER_MONTH == pytest.approx(0.001)
    assert float(model["GPU"]) / HOURS_PER_MONTH == pytest.approx(0.4)
    assert float(model["spotGPU"]) == pytest.approx(0.1)  # OpenCost's UpdateFromMap leaves spotGPU per hour
    assert all(isinstance(value, str) for value in model.values())
    assert opencost_values(settings, {})["opencost"]["customPricing"]["costModel"] == model


def test_units_price_the_system_machine_exactly_and_gpu_machines_by_their_remainder() -> None:
    pricer = Pricer(load_price_table(), "aws", "us-east-1")
    system, gpu = machine("aws", "m6i.large"), machine("aws", "g4dn.xlarge")
    assert system is not None and gpu is not None
    units = unit_prices(pricer, system, [gpu])
    assert units is not None
    errors = {(e.machine, e.spot): e for e in unit_errors(pricer, units, [system, gpu])}
    for key in errors:
        assert errors[key].relative == pytest.approx(0.0, abs=1e-9), key  # one GPU machine: its remainder is the unit
    assert units.cpu / units.ram == pytest.approx(0.021811 / 0.002923)
    assert units.machine_hourly(gpu, spot=False) == pytest.approx(catalog_hourly(pricer, gpu, spot=False))


def test_how_far_units_land_from_instance_prices(stack_plan: Plan) -> None:
    """Printed for docs/COST.md; the spot gap is OpenCost pricing spot nodes on demand, which the rules scale away."""
    gaps = unit_gaps(stack_plan)
    print(f"\n{stack_plan.stack}:", *render(gaps), sep="\n")
    on_demand = [g for g in gaps if g.capacity == "on-demand"]
    assert on_demand and len(gaps) > len(on_demand)
    assert max(abs(g.relative) for g in on_demand) <= WORST_ON_DEMAND_GAP
    assert all(g.relative > 0 for g in gaps if g.capacity == "spot")  # spot nodes at on-demand units


def test_the_egress_alert_holds_preflight_to_its_own_assumption() -> None:
    from components.observability.contract import MonitoringArgs

    assert MonitoringArgs.__dataclass_fields__["egress_assumption_gb"].default == Assumptions(730).egress_gb


def parse(**changes: Any) -> Any:
    values = {**GOOD, **changes}
    raw = {f"mlplatform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return parse_stack_config(raw, stack="test")


MODEL = {"name": "fraud", "accelerator": "T4", "stable": {"name": "v1", "path": "fraud/1"}}


def test_a_model_team_defaults_to_ml_and_a_budget_to_none() -> None:
    config = parse(models=[MODEL])
    assert config.models[0].team == "ml"
    assert config.observability.monthly_budget_usd is None
    config = parse(models=[{**MODEL, "team": "risk"}], observability={"monthlyBudgetUsd": 2500})
    assert config.models[0].team == "risk"
    assert config.observability.monthly_budget_usd == 2500


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"models": [{**MODEL, "team": "Risk Team"}]}, "mlplatform:models[0].team", "must be a DNS label"),
        ({"models": [{**MODEL, "team": 7}]}, "mlplatform:models[0].team", "string"),
        ({"observability": {"monthlyBudgetUsd": 0}}, "mlplatform:observability.monthlyBudgetUsd", "above 0"),
        ({"observability": {"monthlyBudgetUsd": "lots"}}, "mlplatform:observability.monthlyBudgetUsd", "number"),
        ({"observability": {"monthlyBudgetUsd": 1e12}}, "mlplatform:observability.monthlyBudgetUsd", "100000000"),
    ],
)
def test_bad_cost_config_names_its_key(changes: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse(**changes)
    assert error.value.key == key


def test_preflight_cost_prices_opencost_on_every_target(stack_plan: Plan) -> None:
    """Its pod's share of a system node (preflight/cost_opencost.py): a line per target, a dollar or two a month."""
    report = price_plan(stack_plan)
    lines = [item for target in report.targets for item in target.items if item.what.startswith("OpenCost:")]
    assert sorted(item.target for item in lines) == sorted(
        r.inputs["values"]["opencost"]["exporter"]["defaultClusterId"] for r in releases(stack_plan)
    )
    assert all(0 < item.idle == item.peak < 5 and not item.unpriced for item in lines)
