"""What logs and traces add to a target's month (components/observability: collector.py, stores.py).

Read from the plan, like every other cost rule: the collector agent's release (its resource requests), the central
stores' releases (their disks and requests) and where the agent sends (an https URL leaves the cloud: internet
egress). What the plan cannot say is an assumption the report prints: the compressed log volume a node sends a day
and the trace volume a target sends a day.

- Pods' CPU and memory are not billed by themselves: they take node capacity. They are priced as the share of a
  system node they request (the larger of the vCPU and the memory share), at the target's system machine's price;
  on a GPU node the same request takes capacity a model rarely needs, so this is an upper figure there.
- Disks: the provisioned size of each persistent volume, at the cloud's default StorageClass's disk price (GKE
  pd-balanced, AKS Standard SSD). On EKS the stores use an emptyDir (no EBS CSI driver): no disk of their own.
- Egress: the agent of every target but the central one sends its logs and spans across the internet to the
  central gateway, at the sending cloud's internet egress price. The central cluster sends in-cluster (free).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.machine_catalog import machine
from preflight.cost_model import LineItem
from preflight.node_pools import pools_of
from pricing.pricer import catalog_hourly

if TYPE_CHECKING:
    from preflight.cost import TargetPricer
    from preflight.plan import PlannedResource

RELEASE = "kubernetes:helm.sh/v3:Release"
COLLECTOR_CHART = "opentelemetry-collector"
# chart -> where its values keep the persistent volume and the pod's resources
STORES = {
    "loki": (("singleBinary", "persistence"), ("singleBinary", "resources")),
    "tempo": (("persistence",), ("tempo", "resources")),
}
DISKS = {"gcp": "pd-balanced", "azure": "standard-ssd"}  # each cloud's default StorageClass here
DAYS_PER_MONTH = 30.4
_QUANTITY = re.compile(r"^([0-9.]+)(m|Mi|Gi|Ki)?$")


def _dig(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = values
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current


def quantity(text: Any, unit: str) -> float:
    """A Kubernetes quantity as vCPUs (`unit` "cpu") or GiB (`unit` "memory"); 0 for none."""
    match = _QUANTITY.fullmatch(str(text)) if text is not None else None
    if match is None:
        return 0.0
    number, suffix = float(match.group(1)), match.group(2) or ""
    if unit == "cpu":
        return number / 1000 if suffix == "m" else number
    return number * {"Ki": 1 / 1024**2, "Mi": 1 / 1024, "Gi": 1.0, "": 1 / 1024**3, "m": 0.0}[suffix]


def _requests(resources: Any) -> tuple[float, float]:
    requests = _dig(resources, ("requests",)) if isinstance(resources, Mapping) else None
    requests = requests if isinstance(requests, Mapping) else {}
    return quantity(requests.get("cpu"), "cpu"), quantity(requests.get("memory"), "memory")


def _node_share_hourly(p: TargetPricer, system: tuple[str, bool] | None, cpu: float, memory: float) -> float | None:
    """What `cpu` vCPUs and `memory` GiB of a system node cost an hour, or None when the machine is unpriced."""
    if system is None:
        return None
    shape = machine(p.cloud, system[0])
    hourly = catalog_hourly(p, shape, spot=system[1]) if shape is not None else None
    if shape is None or hourly is None:
        return None
    return max(cpu / shape.vcpus, memory / shape.memory_gib) * hourly


def _nodes(members: list[PlannedResource]) -> tuple[tuple[float, float], tuple[str, bool] | None]:
    """The target's node count at idle and at peak, and its system pool's machine type and capacity."""
    pools = [pool for r in members for pool in pools_of(r.type, r.inputs, r.name)]
    system = next(((pool.machine_types[0], pool.spot) for pool in pools if not pool.gpu and pool.machine_types), None)
    return (sum(pool.min_size for pool in pools), sum(pool.max_size for pool in pools)), system


def telemetry_items(p: TargetPricer, members: list[PlannedResource]) -> list[LineItem]:
    """The target's logs-and-traces lines (none where the plan runs no collector agent there)."""
    releases = [r for r in members if r.type == RELEASE]
    agents = [
        r
        for r in releases
        if r.inputs.get("chart") == COLLECTOR_CHART and r.inputs.get("values", {}).get("mode") == "daemonset"
    ]
    if not agents:
        return []
    hours, items = p.assumptions.hours_per_month, []
    nodes, system = _nodes(members)

    def pods(resource: PlannedResource, what: str, cpu: float, memory: float, count: tuple[float, float]) -> None:
        hourly = _node_share_hourly(p, system, cpu, memory)
        if hourly is None:
            items.append(p.missing(resource, what, f"machine/{system[0] if system else 'system'}"))
            return
        idle, peak = hourly * count[0] * hours, hourly * count[1] * hours
        items.append(LineItem(p.target, resource.type, resource.name, what, idle, peak, idle, peak))

    agent = agents[0]
    values = agent.inputs["values"]
    cpu, memory = _requests(values.get("resources"))
    pods(agent, f"collector agent on every node: {cpu:g} vCPU, {memory * 1024:.0f} MiB each", cpu, memory, nodes)

    logs_url = str(_dig(values, ("config", "exporters", "otlphttp/logs", "logs_endpoint")) or "")
    if logs_url.startswith("https://"):  # across the internet to the central footprint
        a = p.assumptions
        gb = [(a.log_gb_per_node_day * n + a.trace_gb_per_target_day) * DAYS_PER_MONTH for n in nodes]
        price = p.hourly("egress", "internet")
        what = f"logs and traces to the central footprint: {gb[0]:.0f} to {gb[1]:.0f} GB internet egress (assumed)"
        if price is None:
            items.append(p.missing(agent, what, "egress/internet"))
        else:
            items.append(
                LineItem(
                    p.target, agent.type, agent.name, what, gb[0] * price, gb[1] * price, gb[0] * price, gb[1] * price
                )
            )

    for release in releases:
        chart = str(release.inputs.get("chart"))
        release_values = release.inputs.get("values", {})
        if chart == COLLECTOR_CHART and release is not agent:
            cpu, memory = _requests(release_values.get("resources"))
            pods(release, f"trace gateway: {cpu:g} vCPU, {memory * 1024:.0f} MiB", cpu, memory, (1, 1))
        if chart not in STORES:
            continue
        volume_path, resources_path = STORES[chart]
        cpu, memory = _requests(_dig(release_values, resources_path))
        pods(release, f"{chart}: {cpu:g} vCPU, {memory * 1024:.0f} MiB", cpu, memory, (1, 1))
        volume = _dig(release_values, volume_path) or {}
        size = quantity(volume.get("size"), "memory") if volume.get("enabled") else 0.0
        disk = DISKS.get(p.cloud)
        if size and disk:
            what = f"{chart} disk: {size:g} GiB {disk}"
            items.append(p.fixed(release, what, p.monthly("disk", disk, size), f"disk/{disk}"))
    return items
