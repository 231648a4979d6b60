"""The shipped quota table (preflight/data/quotas.yaml): which quota each machine family counts against, sourced.

Validated strictly on load, so a bad entry names its key; `stale_from` is the day a test starts failing until
the sources are read again, as for the Kubernetes support table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

QUOTA_FILE = Path(__file__).resolve().parent.parent / "data" / "quotas.yaml"
STALE_AFTER_MONTHS = 4
Unit = Literal["vcpus", "gpus", "nodes"]
_UNITS: tuple[Unit, ...] = ("vcpus", "gpus", "nodes")


class QuotaTableError(ValueError):
    """The table itself is wrong (a missing key, an unknown source): a bug in the shipped data."""


@dataclass(frozen=True)
class Source:
    url: str
    read: str  # YYYY-MM
    note: str


@dataclass(frozen=True)
class Quota:
    name: str  # the cloud's own name: "Running On-Demand G and VT instances", "NVIDIA_T4_GPUS"
    code: str | None  # the API's id where it differs from the name: L-DB2E81BA, lowPriorityCores
    unit: Unit
    source: Source
    global_scope: bool = False  # project-wide (GCP *_ALL_REGIONS) rather than per region
    default: int | None = None  # documented default for a new account, where a page states one
    service: str | None = None  # AWS Service Quotas service code (ec2, vpc, eks)


@dataclass(frozen=True)
class Family:
    cloud: str
    name: str
    pattern: re.Pattern[str]
    on_demand: tuple[Quota, ...]
    spot: tuple[Quota, ...]


@dataclass(frozen=True)
class QuotaTable:
    sources: Mapping[str, Source]
    families: tuple[Family, ...]
    gpu_on_demand: Mapping[str, Quota]  # GKE accelerator type -> quota
    gpu_spot: Mapping[str, Quota]
    gpu_all_regions: Quota
    regional: Mapping[str, tuple[tuple[Quota, ...], tuple[Quota, ...]]]  # cloud -> (on-demand, spot)
    resources: Mapping[str, Quota]  # resource type -> quota counted per resource

    def family(self, cloud: str, machine_type: str) -> Family | None:
        return next((f for f in self.families if f.cloud == cloud and f.pattern.search(machine_type)), None)

    def oldest_read(self) -> str:
        return min(source.read for source in self.sources.values())

    def stale_from(self) -> date:
        year, month = (int(part) for part in self.oldest_read().split("-"))
        month += STALE_AFTER_MONTHS + 1
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return date(year, month, 1)


def load_quota_table(path: Path = QUOTA_FILE) -> QuotaTable:
    document = yaml.safe_load(path.read_text())
    sources = {name: _source(f"sources.{name}", value) for name, value in _map(document, "sources", "").items()}
    families = tuple(
        _family(f"families.{cloud}[{index}]", cloud, entry, sources)
        for cloud, entries in _map(document, "families", "").items()
        for index, entry in enumerate(entries)
    )
    gpu = _map(document, "gpuQuotas", "")
    gpu_source = _lookup(sources, gpu.get("source"), "gpuQuotas.source")
    gpu_on_demand = {
        acc: Quota(str(name), None, "gpus", gpu_source) for acc, name in _map(gpu, "onDemand", "gpuQuotas.").items()
    }
    gpu_spot = {
        acc: Quota(str(name), None, "gpus", gpu_source) for acc, name in _map(gpu, "spot", "gpuQuotas.").items()
    }
    default = gpu.get("allRegionsDefault")
    if default is not None and not isinstance(default, int):
        raise QuotaTableError("gpuQuotas.allRegionsDefault: expected a whole number")
    all_regions = Quota(str(gpu.get("allRegions")), None, "gpus", gpu_source, global_scope=True, default=default)
    regional = {}
    for cloud, entry in _map(document, "regional", "").items():
        source = _lookup(sources, entry.get("source"), f"regional.{cloud}.source")
        regional[cloud] = (
            _quotas(f"regional.{cloud}.onDemand", entry.get("onDemand"), sources, source),
            _quotas(f"regional.{cloud}.spot", entry.get("spot"), sources, source),
        )
    resources = {
        token: _quota(
            f"resources.{token}",
            entry,
            sources,
            _lookup(sources, entry.get("source"), f"resources.{token}.source"),
            "nodes",
        )
        for token, entry in _map(document, "resources", "").items()
    }
    return QuotaTable(sources, families, gpu_on_demand, gpu_spot, all_regions, regional, resources)


def _family(where: str, cloud: str, entry: Any, sources: Mapping[str, Source]) -> Family:
    if not isinstance(entry, dict):
        raise QuotaTableError(f"{where}: expected a mapping")
    source = _lookup(sources, entry.get("source"), f"{where}.source")
    try:
        pattern = re.compile(str(entry["match"]))
    except (KeyError, re.error) as error:
        raise QuotaTableError(f"{where}.match: {error}") from None
    return Family(
        cloud=cloud,
        name=str(entry.get("family") or ""),
        pattern=pattern,
        on_demand=_quotas(f"{where}.onDemand", entry.get("onDemand"), sources, source),
        spot=_quotas(f"{where}.spot", entry.get("spot"), sources, source),
    )


def _quotas(where: str, value: Any, sources: Mapping[str, Source], source: Source) -> tuple[Quota, ...]:
    if not isinstance(value, list):
        raise QuotaTableError(f"{where}: expected a list of quotas")
    return tuple(_quota(f"{where}[{i}]", item, sources, source) for i, item in enumerate(value))


def _quota(where: str, item: Any, sources: Mapping[str, Source], source: Source, unit: str | None = None) -> Quota:
    if not isinstance(item, dict) or not isinstance(item.get("quota"), str):
        raise QuotaTableError(f"{where}: expected {{quota, unit}}")
    unit = unit or item.get("unit")
    if unit not in _UNITS:
        raise QuotaTableError(f"{where}.unit: expected one of {', '.join(_UNITS)}")
    own = _lookup(sources, item["source"], f"{where}.source") if "source" in item else source
    default = item.get("default")
    if default is not None and not isinstance(default, int):
        raise QuotaTableError(f"{where}.default: expected a whole number")
    code = item.get("code")
    service = item.get("service")
    return Quota(
        item["quota"],
        str(code) if code else None,
        unit,
        own,
        item.get("scope") == "global",
        default,
        str(service) if service else None,
    )


def _source(where: str, value: Any) -> Source:
    if not isinstance(value, dict) or not isinstance(value.get("url"), str):
        raise QuotaTableError(f"{where}: needs url and read (YYYY-MM)")
    read = str(value.get("read") or "")
    if not re.fullmatch(r"\d{4}-\d{2}", read):
        raise QuotaTableError(f"{where}.read: expected YYYY-MM, got {read!r}")
    return Source(value["url"], read, str(value.get("note", "")))


def _lookup(sources: Mapping[str, Source], name: Any, where: str) -> Source:
    if name not in sources:
        raise QuotaTableError(f"{where}: unknown source {name!r}")
    return sources[name]


def _map(document: Any, key: str, prefix: str) -> dict[str, Any]:
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, dict):
        raise QuotaTableError(f"{prefix}{key}: expected a mapping")
    return value
