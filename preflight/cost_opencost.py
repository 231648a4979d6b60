"""What OpenCost adds to a target's month (components/observability/opencost.py): its pod's share of a system node.

Read from the plan like every cost rule: the opencost release's resource requests, priced as the share of a system
node they take (the larger of the vCPU and the memory share, at the target's system machine and capacity), as
preflight/cost_telemetry.py prices the collector's pods. Nothing else is billed by it: no disk (OpenCost keeps its
figures in Prometheus), no load balancer, no egress (the custom pricing provider calls no cloud pricing API, and
what leaves the cluster is the few `mlplatform:cost_*` series in the remote write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from preflight.cost_model import LineItem
from preflight.cost_telemetry import RELEASE, _node_share_hourly, _nodes, _requests

if TYPE_CHECKING:
    from preflight.cost import TargetPricer
    from preflight.plan import PlannedResource

CHART = "opencost"


def opencost_items(p: TargetPricer, members: list[PlannedResource]) -> list[LineItem]:
    """One line per OpenCost release on the target (none where the plan runs none)."""
    items = []
    for release in members:
        if release.type != RELEASE or release.inputs.get("chart") != CHART:
            continue
        exporter = release.inputs.get("values", {}).get("opencost", {}).get("exporter", {})
        cpu, memory = _requests(exporter.get("resources"))
        what = f"OpenCost: {cpu:g} vCPU, {memory * 1024:.0f} MiB of a system node"
        _, system = _nodes(members)
        hourly = _node_share_hourly(p, system, cpu, memory)
        if hourly is None:
            items.append(p.missing(release, what, f"machine/{system[0] if system else 'system'}"))
            continue
        monthly = hourly * p.assumptions.hours_per_month
        items.append(LineItem(p.target, release.type, release.name, what, monthly, monthly, monthly, monthly))
    return items
