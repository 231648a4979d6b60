"""How far OpenCost's per-unit prices land from the per-instance prices, for every machine a plan runs.

Read from the plan itself: each target's OpenCost release carries its custom pricing (per vCPU, GiB and GPU, per month
as OpenCost takes them), and each target's serving rules carry the list price per hour of every (machine type,
capacity) its pools run (the `mlplatform-config` group). A machine priced by units is compared with its list price:
- on demand, the gap is the units' split error (pricing/units.py): zero for the system machine, the distance of a
  GPU machine's per-GPU remainder from the cluster's mean otherwise;
- for spot machines OpenCost uses on-demand units (components/observability/opencost.py: no spot label), so the gap
  is the spot discount as well. rules/cost.yaml scales every node to its list price, which closes both gaps in
  the recorded figures; OpenCost's own API and UI keep them.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.machine_catalog import machine
from components.target import Cloud
from preflight.plan import Plan, PlannedResource

RELEASE = "kubernetes:helm.sh/v3:Release"
FOOTPRINT = "mlplatform:platform:Footprint"  # its inputs are the target's cloud and region
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
PRICE_RECORD = "mlplatform:node_hourly_price_dollars"
HOURS_PER_MONTH = 730.0  # OpenCost divides CPU, RAM and GPU by it (components/observability/opencost.py)


@dataclass(frozen=True)
class UnitGap:
    target: str
    machine: str
    capacity: str  # "spot" or "on-demand"
    list_hourly: float
    opencost_hourly: float

    @property
    def relative(self) -> float:
        return (self.opencost_hourly - self.list_hourly) / self.list_hourly


def _list_prices(rule: PlannedResource) -> list[tuple[str, str, float]]:
    found = []
    for group in rule.inputs["spec"]["groups"]:
        for item in group["rules"]:
            if item.get("record") == PRICE_RECORD:
                labels = item["labels"]
                value = float(item["expr"].removeprefix("vector(").removesuffix(")"))
                found.append((labels["instance_type"], labels["capacity"], value))
    return found


def unit_gaps(plan: Plan) -> list[UnitGap]:
    """Every (target, machine, capacity) the plan prices, as OpenCost prices it against its list price."""
    rules = {r.name.removesuffix("-monitoring-serving-rules"): r for r in plan.of_type(PROMETHEUS_RULE)}
    clouds: dict[str, Cloud] = {f.name: f.inputs["cloud"] for f in plan.of_type(FOOTPRINT)}
    gaps = []
    for release in plan.of_type(RELEASE):
        if release.inputs.get("chart") != "opencost":
            continue
        values = release.inputs["values"]["opencost"]
        target = values["exporter"]["defaultClusterId"]
        model = values["customPricing"]["costModel"]
        cpu, ram, gpu = (float(model[key]) / HOURS_PER_MONTH for key in ("CPU", "RAM", "GPU"))
        cloud = clouds[target]
        for name, capacity, hourly in _list_prices(rules[target]):
            shape = machine(cloud, name)
            if shape is None:
                continue
            units = shape.vcpus * cpu + shape.memory_gib * ram + shape.gpus * gpu
            gaps.append(UnitGap(target, name, capacity, hourly, units))
    return gaps


def render(gaps: list[UnitGap]) -> list[str]:
    lines = [f"{'target':<24} {'machine':<28} {'capacity':<10} {'list/h':>8} {'units/h':>8} {'gap':>8}"]
    for gap in gaps:
        lines.append(
            f"{gap.target:<24} {gap.machine:<28} {gap.capacity:<10} {gap.list_hourly:>8.4f} "
            f"{gap.opencost_hourly:>8.4f} {gap.relative:>+8.1%}"
        )
    return lines
