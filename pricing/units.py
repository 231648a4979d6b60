"""Per-unit prices (per vCPU-hour, GiB-hour, GPU-hour) for OpenCost, derived from the per-machine price table.

Why: OpenCost's custom pricing (chart values `opencost.customPricing.costModel`) holds one price per vCPU, per GiB
of memory and per GPU, on demand and spot, for the whole cluster; the clouds and `pricing/data/prices.yaml` price
whole machines. The units here come from the same table preflight prices the plan with, so the two start from one
set of figures, and `unit_error` says how far a machine priced by units lands from its own price.

How: a cluster's system machine (its only CPU-only shape) is split into vCPU and memory by GCP's published ratio
for E2 in us-central1 (0.021811 USD per vCPU-hour, 0.002923 per GB-hour: cloud.google.com/compute/vm-instance-pricing,
as OpenCost's own default pricing quotes it, pkg/cloud/provider/providerconfig.go; read 2026-12). The catalog's CPU
shapes all have 4 GiB per vCPU, so no fit over them could tell vCPU from memory: the ratio has to come from a page
that prices them apart, and only GCP's does. Each GPU machine's price less its vCPUs and memory at those units,
divided by its GPUs, is a GPU's price on that machine; the cluster's GPU unit is the mean over its GPU machines
(OpenCost's custom provider has one GPU price per cluster). The system machine is then exact and every GPU
machine is off by its GPU price's distance from the mean (plus its CPU and memory share where its family prices
them differently).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from components.machine_catalog import MachineType
from pricing.pricer import Pricer, catalog_hourly

# GCP E2, us-central1: per vCPU-hour / per GB-hour (see the module docstring for the source).
VCPU_PER_GIB_PRICE_RATIO = 0.021811 / 0.002923


@dataclass(frozen=True)
class UnitPrices:
    """USD per hour for one vCPU, one GiB of memory and one GPU, on demand and spot."""

    cpu: float
    ram: float
    gpu: float
    spot_cpu: float
    spot_ram: float
    spot_gpu: float

    def machine_hourly(self, shape: MachineType, *, spot: bool) -> float:
        """What OpenCost prices one node of this shape at, per hour, from the units alone."""
        if spot:
            return shape.vcpus * self.spot_cpu + shape.memory_gib * self.spot_ram + shape.gpus * self.spot_gpu
        return shape.vcpus * self.cpu + shape.memory_gib * self.ram + shape.gpus * self.gpu


@dataclass(frozen=True)
class UnitError:
    """A machine priced by units against its own price per hour."""

    machine: str
    spot: bool
    list_hourly: float
    unit_hourly: float

    @property
    def relative(self) -> float:
        """(units - list) / list: positive when the units overprice the machine."""
        return (self.unit_hourly - self.list_hourly) / self.list_hourly


def _split(shape: MachineType, hourly: float) -> tuple[float, float]:
    """A CPU machine's hour as (per vCPU, per GiB) at the E2 ratio; exact for that machine."""
    cpu = hourly / (shape.vcpus + shape.memory_gib / VCPU_PER_GIB_PRICE_RATIO)
    return cpu, cpu / VCPU_PER_GIB_PRICE_RATIO


def _gpu_unit(gpu_machines: Sequence[tuple[MachineType, float]], cpu: float, ram: float) -> float:
    """The mean per-GPU remainder of the GPU machines' prices; 0 without GPU machines."""
    per_gpu = [(hourly - m.vcpus * cpu - m.memory_gib * ram) / m.gpus for m, hourly in gpu_machines]
    return max(0.0, sum(per_gpu) / len(per_gpu)) if per_gpu else 0.0


def unit_prices(pricer: Pricer, system: MachineType, gpu_machines: Iterable[MachineType]) -> UnitPrices | None:
    """The cluster's units; None when the table lacks the system machine's price (on demand or spot)."""
    on_demand = catalog_hourly(pricer, system, spot=False)
    spot = catalog_hourly(pricer, system, spot=True)
    if on_demand is None or spot is None:
        return None
    cpu, ram = _split(system, on_demand)
    spot_cpu, spot_ram = _split(system, spot)
    shapes = [m for m in gpu_machines if m.gpus > 0]
    priced = [(m, catalog_hourly(pricer, m, spot=False)) for m in shapes]
    priced_spot = [(m, catalog_hourly(pricer, m, spot=True)) for m in shapes]
    return UnitPrices(
        cpu=cpu,
        ram=ram,
        gpu=_gpu_unit([(m, h) for m, h in priced if h is not None], cpu, ram),
        spot_cpu=spot_cpu,
        spot_ram=spot_ram,
        spot_gpu=_gpu_unit([(m, h) for m, h in priced_spot if h is not None], spot_cpu, spot_ram),
    )


def unit_errors(pricer: Pricer, units: UnitPrices, shapes: Iterable[MachineType]) -> list[UnitError]:
    """Every shape, on demand and spot, priced by units against its list price (unpriced shapes left out)."""
    errors = []
    for shape in shapes:
        for spot in (False, True):
            hourly = catalog_hourly(pricer, shape, spot=spot)
            if hourly:
                errors.append(UnitError(shape.name, spot, hourly, units.machine_hourly(shape, spot=spot)))
    return errors
