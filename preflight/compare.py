"""`preflight compare`: the same GPU workload priced on each cloud, cheapest first.

For each cloud, every catalogued machine with the GPU asked for is priced in the cloud's
default region (the price table's), with enough nodes for the GPU count; the cheapest
machine represents the cloud. A cloud with no such machine in the catalog says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from components.machine_catalog import ACCELERATORS, CATALOG, CLOUDS
from preflight.errors import InputError
from pricing.pricer import Pricer, catalog_hourly
from pricing.table import PriceTable, load_price_table


@dataclass(frozen=True)
class Offer:
    cloud: str
    region: str
    machine_type: str
    gpus_per_node: int
    nodes: int
    hourly_per_node: float
    total: float
    percent_over_cheapest: float

    def to_json(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "region": self.region,
            "machineType": self.machine_type,
            "gpusPerNode": self.gpus_per_node,
            "nodes": self.nodes,
            "hourlyPerNode": round(self.hourly_per_node, 4),
            "total": round(self.total, 2),
            "percentOverCheapest": round(self.percent_over_cheapest, 1),
        }


@dataclass(frozen=True)
class Comparison:
    gpu: str
    hours: float
    count: int
    spot: bool
    currency: str
    offers: tuple[Offer, ...]
    not_offered: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "gpu": self.gpu,
            "hours": self.hours,
            "count": self.count,
            "capacity": "spot" if self.spot else "on-demand",
            "currency": self.currency,
            "offers": [offer.to_json() for offer in self.offers],
            "notOffered": list(self.not_offered),
        }


def compare_gpu(
    gpu: str, hours: float, count: int = 1, spot: bool = False, table: PriceTable | None = None
) -> Comparison:
    accelerator = next((a for a in ACCELERATORS if a.lower() == gpu.lower()), None)
    if accelerator is None:
        raise InputError(f"--gpu: '{gpu}' is not one of {', '.join(ACCELERATORS)}")
    if not (math.isfinite(hours) and hours > 0) or count <= 0:
        raise InputError("--hours and --count must be positive, finite numbers")
    table = table or load_price_table()
    cheapest: dict[str, tuple[float, Offer]] = {}
    for machine in CATALOG:
        if machine.accelerator != accelerator:
            continue
        region = table.default_regions[machine.cloud]
        hourly = catalog_hourly(Pricer(table, machine.cloud, region), machine, spot=spot)
        if hourly is None:
            continue
        nodes = math.ceil(count / machine.gpus)
        total = hourly * nodes * hours
        offer = Offer(machine.cloud, region, machine.name, machine.gpus, nodes, hourly, total, 0.0)
        if machine.cloud not in cheapest or total < cheapest[machine.cloud][0]:
            cheapest[machine.cloud] = (total, offer)
    ranked = sorted((offer for _, offer in cheapest.values()), key=lambda offer: offer.total)
    floor = ranked[0].total if ranked else 0.0
    offers = tuple(replace(offer, percent_over_cheapest=100.0 * (offer.total / floor - 1.0)) for offer in ranked)
    missing = tuple(cloud for cloud in CLOUDS if cloud not in cheapest)
    return Comparison(accelerator, hours, count, spot, table.currency, offers, missing)


def render_comparison(comparison: Comparison) -> str:
    capacity = "spot" if comparison.spot else "on demand"
    lines = [
        f"{comparison.count} x {comparison.gpu} for {comparison.hours:g} hours, {capacity}, "
        f"in each cloud's default region ({comparison.currency}, list prices):"
    ]
    for rank, offer in enumerate(comparison.offers, start=1):
        versus = "cheapest" if rank == 1 else f"+{offer.percent_over_cheapest:.1f} %"
        lines.append(
            f"  {rank}. {offer.cloud:<6} {offer.region:<12} {offer.machine_type:<26} {offer.nodes} node(s) x "
            f"{offer.hourly_per_node:.4f}/h = {offer.total:>10,.2f}   {versus}"
        )
    for cloud in comparison.not_offered:
        lines.append(f"  -  {cloud:<6} no {comparison.gpu} machine in the catalog (components/machine_catalog.py)")
    return "\n".join(lines)
