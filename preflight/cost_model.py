"""What a plan costs a month: line items per target, at idle (minimum scale) and at peak (maximum)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STACK_WIDE = "stack-wide"


@dataclass(frozen=True)
class Assumptions:
    """What the plan cannot say and the bill depends on; every report prints them."""

    hours_per_month: float
    model_storage_gb: float = 50.0  # per target's model bucket
    registry_storage_gb: float = 30.0  # per target's registry (a Triton image alone is 14 to 16 GB)
    egress_gb: float = 100.0  # per target, responses to clients on the internet
    nat_data_gb: float = 200.0  # per target, through NAT (image and model pulls)
    nat_model_gb: float = 50.0  # of nat_data_gb, model pulls from the target's bucket (S3 gateway endpoint: free)
    load_balancer_capacity_units: float = 1.0  # NLB capacity units in use per hour
    dns_queries_millions: float = 10.0  # per month, for the global host name
    log_gb_per_node_day: float = 0.05  # logs a node's collector sends a day, gzipped (about 0.5 GB raw)
    trace_gb_per_target_day: float = 0.02  # spans a target sends a day after the mesh's head sampling

    def lines(self) -> list[str]:
        return [
            f"{self.hours_per_month:g} hours a month; idle = every pool at its minimum; peak = every pool at its "
            "maximum, on-demand fallback pools included (the worst case: spot capacity gone as well)",
            f"{self.model_storage_gb:g} GB of models per bucket, "
            f"{self.registry_storage_gb:g} GB of images per registry",
            f"{self.egress_gb:g} GB internet egress and {self.nat_data_gb:g} GB through NAT per target a month "
            f"({self.nat_model_gb:g} GB of it model pulls, which an S3 gateway endpoint takes off NAT)",
            f"{self.load_balancer_capacity_units:g} load balancer capacity unit(s) in use; "
            f"{self.dns_queries_millions:g} million DNS queries a month",
            f"logs and traces: {self.log_gb_per_node_day:g} GB of logs a node and {self.trace_gb_per_target_day:g} GB "
            "of spans a target send a day (compressed); the collectors' and stores' pods at their requests' share of a "
            "system node",
            "node boot disks, metrics storage, support plans and taxes are not priced",
        ]


@dataclass(frozen=True)
class LineItem:
    target: str
    resource_type: str
    resource: str
    what: str
    idle: float
    peak: float
    on_demand_idle: float  # for spot capacity, what the same nodes cost on demand; else the same as idle
    on_demand_peak: float
    spot: bool = False
    gpu: bool = True  # False for spot system nodes: the report's spot saving is the GPU pools' alone
    unpriced: str = ""  # why no price was found; the item then counts as nothing and is listed

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "target": self.target,
            "type": self.resource_type,
            "resource": self.resource,
            "what": self.what,
            "idle": round(self.idle, 2),
            "peak": round(self.peak, 2),
        }
        if self.spot:
            document["spot"] = True
            document["onDemandIdle"] = round(self.on_demand_idle, 2)
            document["onDemandPeak"] = round(self.on_demand_peak, 2)
        if self.unpriced:
            document["unpriced"] = self.unpriced
        return document


def saving_percent(spot: float, on_demand: float) -> float | None:
    return round(100.0 * (1.0 - spot / on_demand), 1) if on_demand > 0 else None


@dataclass(frozen=True)
class TargetCost:
    name: str
    cloud: str
    region: str
    items: tuple[LineItem, ...]
    estimated_regions: tuple[str, ...] = ()  # price keys priced at the default region's figure

    @property
    def idle(self) -> float:
        return sum(item.idle for item in self.items)

    @property
    def peak(self) -> float:
        return sum(item.peak for item in self.items)

    def spot_totals(self) -> tuple[float, float, float, float]:
        """Spot GPU capacity (idle, peak) and what it would cost on demand (idle, peak)."""
        spot = [item for item in self.items if item.spot and item.gpu]
        return (
            sum(i.idle for i in spot),
            sum(i.peak for i in spot),
            sum(i.on_demand_idle for i in spot),
            sum(i.on_demand_peak for i in spot),
        )

    def to_json(self) -> dict[str, Any]:
        spot_idle, spot_peak, od_idle, od_peak = self.spot_totals()
        return {
            "name": self.name,
            "cloud": self.cloud,
            "region": self.region,
            "idle": round(self.idle, 2),
            "peak": round(self.peak, 2),
            "spot": {
                "idle": round(spot_idle, 2),
                "peak": round(spot_peak, 2),
                "onDemandIdle": round(od_idle, 2),
                "onDemandPeak": round(od_peak, 2),
                "savingPercentPeak": saving_percent(spot_peak, od_peak),
            },
            "items": [item.to_json() for item in self.items],
            "pricedAtDefaultRegion": list(self.estimated_regions),
        }


@dataclass(frozen=True)
class RightSizing:
    target: str
    pool: str
    machine_type: str
    cheaper: str
    accelerator: str
    detail: str  # the two shapes, so a reader can judge the fit
    saving_idle: float
    saving_peak: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "pool": self.pool,
            "machineType": self.machine_type,
            "cheaper": self.cheaper,
            "accelerator": self.accelerator,
            "detail": self.detail,
            "savingIdle": round(self.saving_idle, 2),
            "savingPeak": round(self.saving_peak, 2),
        }


@dataclass(frozen=True)
class CostReport:
    project: str
    stack: str
    currency: str
    prices_read: str
    assumptions: Assumptions
    targets: tuple[TargetCost, ...]
    right_sizing: tuple[RightSizing, ...] = field(default=())

    @property
    def idle(self) -> float:
        return sum(target.idle for target in self.targets)

    @property
    def peak(self) -> float:
        return sum(target.peak for target in self.targets)

    @property
    def unpriced(self) -> tuple[LineItem, ...]:
        return tuple(item for target in self.targets for item in target.items if item.unpriced)

    def to_json(self) -> dict[str, Any]:
        spot = [target.spot_totals() for target in self.targets]
        spot_peak, od_peak = sum(s[1] for s in spot), sum(s[3] for s in spot)
        return {
            "currency": self.currency,
            "pricesRead": self.prices_read,
            "assumptions": self.assumptions.lines(),
            "monthly": {"idle": round(self.idle, 2), "peak": round(self.peak, 2)},
            "spotSavingPercentPeak": saving_percent(spot_peak, od_peak),
            "targets": [target.to_json() for target in self.targets],
            "unpriced": [item.to_json() for item in self.unpriced],
            "rightSizing": [item.to_json() for item in self.right_sizing],
        }
