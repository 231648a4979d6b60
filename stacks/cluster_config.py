"""Cluster and GPU pool config: validated against the machine catalog before anything is made.

A GPU pool is declared once for the stack and built on every target whose cloud it names
(all clouds by default), or on the targets it lists. Its machine types default to the catalog's smallest machine for
the accelerator on each cloud. Each spot pool gets an on-demand fallback pool (min 0)
that the autoscaler turns to only when spot capacity cannot be had.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from components.gpu_cluster.aws_autoscaler import CHART_VERSIONS as AUTOSCALER_CHARTS
from components.gpu_cluster.contract import spot_max_price_problem
from components.kubernetes_support import load_support_table
from components.machine_catalog import accelerators, machine, machines_for, unlike
from components.target import Cloud
from stacks.validate import ConfigError, boolean, integer, mapping, number, string, string_list

CLOUD_NAMES: tuple[Cloud, ...] = ("aws", "gcp", "azure")
MAX_NODES = 1000
# Pool names become AKS agent pool names: lowercase letters and digits, a letter first, at
# most 12 characters for Linux pools; the fallback pool appends FALLBACK_SUFFIX.
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
FALLBACK_SUFFIX = "od"
_K8S_VERSION = re.compile(r"^1\.[0-9]{2}$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")  # a Kubernetes label value
# One machine type per node pool on GKE and AKS; EKS managed node groups take several.
_SINGLE_MACHINE_CLOUDS = ("gcp", "azure")

DEFAULT_SYSTEM_MACHINES: dict[Cloud, str] = {
    "aws": "m6i.large",
    "gcp": "e2-standard-4",
    "azure": "Standard_D4ds_v5",
}
GPU_POOL_KEYS = {
    "name",
    "accelerator",
    "minNodes",
    "maxNodes",
    "spot",
    "spotMaxPrice",
    "machineTypes",
    "clouds",
    "targets",
    "fallbackMaxNodes",
    "onDemandReason",
    "warmSpares",
}
SYSTEM_POOL_KEYS = {"minNodes", "maxNodes", "machineTypes"}


@dataclass(frozen=True)
class SystemPoolConfig:
    min_nodes: int
    max_nodes: int
    machine_types: Mapping[Cloud, str]


@dataclass(frozen=True)
class GpuPoolConfig:
    name: str
    accelerator: str
    min_nodes: int
    max_nodes: int
    spot: bool
    spot_max_price: float | None
    machine_types: Mapping[Cloud, tuple[str, ...]]
    clouds: tuple[Cloud, ...]
    fallback_max_nodes: int
    targets: tuple[str, ...] = ()
    """The targets the pool is built on: every target of its clouds, or those the pool names."""
    on_demand_reason: str = ""
    """Why a `spot: false` pool runs on demand: required with it, carried as a node label the policy pack reads."""
    warm_spares: int = 0
    """Spot nodes kept Ready beyond the replicas' need, each held by a placeholder pod that pulled the Triton image,
    so the first replicas of a scale-up start without waiting for a node (components/serving_stack/warm_spares.py).
    They are part of the pool's minimum (GpuPool min_nodes), so the cost report prices them as idle nodes."""

    @property
    def fallback_name(self) -> str:
        return f"{self.name}{FALLBACK_SUFFIX}"

    def runs_on(self, target: str) -> bool:
        return target in self.targets


@dataclass(frozen=True)
class ClusterConfig:
    kubernetes_version: str
    api_allowed_cidrs: tuple[str, ...]
    system_pool: SystemPoolConfig
    gpu_pools: tuple[GpuPoolConfig, ...]


@dataclass(frozen=True)
class ClusterDefaults:
    """What an environment means for clusters; see stacks.config.PROFILES."""

    system_min_nodes: int
    system_max_nodes: int
    open_api_allowed: bool  # dev may leave the API endpoint open; prod must name its CIDRs


DEFAULT_GPU_POOLS: list[dict[str, Any]] = [{"name": "t4", "accelerator": "T4", "minNodes": 0, "maxNodes": 2}]


def parse_cluster(
    prefix: str,
    values: Mapping[str, Any],
    defaults: ClusterDefaults,
    target_clouds: Sequence[tuple[str, Cloud]],
    today: date,
) -> ClusterConfig:
    """`target_clouds` is (target name, cloud) per target, to name a target in an error; `today`
    is the day the version must be in standard support on every cloud of the stack."""
    key = f"{prefix}kubernetesVersion"
    version = string(key, values["kubernetesVersion"])
    if not _K8S_VERSION.fullmatch(version):
        hint = ""
        if re.fullmatch(r"1\.[0-9]", version):  # 1.30 written unquoted: YAML reads the number 1.3
            hint = f'; quote it in YAML ("{version}0"): unquoted, 1.x0 is the number 1.x'
        raise ConfigError(key, f"expected a minor version such as 1.35, got {version!r}{hint}")
    _check_support(key, version, tuple(dict.fromkeys(cloud for _, cloud in target_clouds)), today)
    return ClusterConfig(
        kubernetes_version=version,
        api_allowed_cidrs=_cidrs(f"{prefix}apiAllowedCidrs", values.get("apiAllowedCidrs", []), defaults),
        system_pool=_system_pool(f"{prefix}systemPool", values.get("systemPool", {}), defaults),
        gpu_pools=_gpu_pools(f"{prefix}gpuPools", values.get("gpuPools", DEFAULT_GPU_POOLS), target_clouds),
    )


def _check_support(key: str, version: str, clouds: tuple[Cloud, ...], today: date) -> None:
    """Refuse a minor outside standard support on any cloud of the stack: on AKS it fails to
    create, on EKS it starts in paid extended support (components/data/kubernetes_support.yaml)."""
    table = load_support_table()
    problems = [p for cloud in clouds if (p := table.standard_support_problem(cloud, version, today))]
    if problems:
        good = ", ".join(table.in_standard_everywhere(clouds, today)) or "none"
        raise ConfigError(key, f"{'; '.join(problems)} (in standard support on {today.isoformat()}: {good})")
    if "aws" in clouds and version not in AUTOSCALER_CHARTS:
        pinned = ", ".join(sorted(AUTOSCALER_CHARTS))
        raise ConfigError(key, f"no cluster-autoscaler chart is pinned for {version} on EKS (pinned: {pinned})")


def _cidrs(key: str, value: Any, defaults: ClusterDefaults) -> tuple[str, ...]:
    cidrs = string_list(key, value)
    for i, cidr in enumerate(cidrs):
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise ConfigError(f"{key}[{i}]", f"{cidr!r} is not a CIDR block such as 203.0.113.0/24") from None
        if network.prefixlen == 0 and not defaults.open_api_allowed:
            raise ConfigError(f"{key}[{i}]", "prod must not open the Kubernetes API to the whole internet")
    if not cidrs and not defaults.open_api_allowed:
        raise ConfigError(key, "prod must list the CIDRs allowed to reach the Kubernetes API")
    return tuple(cidrs)


def _system_pool(key: str, value: Any, defaults: ClusterDefaults) -> SystemPoolConfig:
    fields = mapping(key, value, SYSTEM_POOL_KEYS)
    low = integer(f"{key}.minNodes", fields.get("minNodes", defaults.system_min_nodes), 1, MAX_NODES)
    high = integer(f"{key}.maxNodes", fields.get("maxNodes", defaults.system_max_nodes), 1, MAX_NODES)
    if low > high:
        raise ConfigError(f"{key}.minNodes", f"{low} is above maxNodes ({high})")
    chosen = dict(DEFAULT_SYSTEM_MACHINES)
    explicit = mapping(f"{key}.machineTypes", fields.get("machineTypes", {}), set(CLOUD_NAMES))
    for cloud in CLOUD_NAMES:
        if cloud not in explicit:
            continue
        name = string(f"{key}.machineTypes.{cloud}", explicit[cloud])
        if machine(cloud, name) is None:
            raise ConfigError(f"{key}.machineTypes.{cloud}", f"{name!r} is not in the {cloud} machine catalog")
        chosen[cloud] = name
    return SystemPoolConfig(min_nodes=low, max_nodes=high, machine_types=chosen)


def _gpu_pools(key: str, value: Any, target_clouds: Sequence[tuple[str, Cloud]]) -> tuple[GpuPoolConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, "expected a list of GPU pools")
    pools = tuple(_gpu_pool(f"{key}[{i}]", item, target_clouds) for i, item in enumerate(value))
    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        for name in (pool.name, pool.fallback_name):
            if name in seen:
                raise ConfigError(
                    f"{key}[{i}].name", f"{pool.name!r} clashes with the pool names of {key}[{seen[name]}]"
                )
            seen[name] = i
    return pools


def _gpu_pool(key: str, item: Any, target_clouds: Sequence[tuple[str, Cloud]]) -> GpuPoolConfig:
    fields = mapping(key, item, GPU_POOL_KEYS)
    name = string(f"{key}.name", fields.get("name"))
    if not _POOL_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"{name!r} must be 1-10 lowercase letters or digits, a letter first")
    accelerator = string(f"{key}.accelerator", fields.get("accelerator")).upper()
    low = integer(f"{key}.minNodes", fields.get("minNodes", 0), 0, MAX_NODES)
    high = integer(f"{key}.maxNodes", fields.get("maxNodes", 2), 1, MAX_NODES)
    if low > high:
        raise ConfigError(f"{key}.minNodes", f"{low} is above maxNodes ({high})")
    spot = boolean(f"{key}.spot", fields.get("spot", True))
    reason = _on_demand_reason(f"{key}.onDemandReason", fields.get("onDemandReason"), spot)
    fallback_max = integer(f"{key}.fallbackMaxNodes", fields.get("fallbackMaxNodes", high), 1, MAX_NODES)
    spares = _warm_spares(f"{key}.warmSpares", fields.get("warmSpares"), spot=spot, low=low, high=high)

    clouds = _pool_clouds(f"{key}.clouds", fields.get("clouds"), target_clouds)
    targets = _pool_targets(f"{key}.targets", fields.get("targets"), clouds, target_clouds)
    clouds = tuple(cloud for cloud in clouds if any(c == cloud for t, c in target_clouds if t in targets))
    price = fields.get("spotMaxPrice")
    if price is not None:
        price = number(f"{key}.spotMaxPrice", price, 0.0, above=True)
        problem = spot_max_price_problem(price)
        if problem:
            raise ConfigError(f"{key}.spotMaxPrice", problem)
        others = [cloud for cloud in clouds if cloud != "azure"]
        if others:
            raise ConfigError(
                f"{key}.spotMaxPrice",
                f"only Azure offers a spot price cap, and this pool also runs on {', '.join(others)}"
                " (limit it with clouds: [azure])",
            )
        if not spot:
            raise ConfigError(f"{key}.spotMaxPrice", "a spot price cap needs spot: true")

    explicit = mapping(f"{key}.machineTypes", fields.get("machineTypes", {}), set(CLOUD_NAMES))
    machine_types: dict[Cloud, tuple[str, ...]] = {}
    for cloud in clouds:
        on_cloud = [target for target, target_cloud in target_clouds if target_cloud == cloud and target in targets]
        if accelerator not in accelerators(cloud):
            raise ConfigError(
                f"{key}.accelerator",
                f"{cloud} offers no {accelerator} machine in the catalog (target {on_cloud[0]});"
                f" limit the pool with clouds: [...] or pick one of {', '.join(sorted(accelerators(cloud)))}",
            )
        machine_types[cloud] = _machine_types(f"{key}.machineTypes.{cloud}", explicit.get(cloud), cloud, accelerator)
    return GpuPoolConfig(
        name=name,
        accelerator=accelerator,
        min_nodes=low,
        max_nodes=high,
        spot=spot,
        spot_max_price=price,
        machine_types=machine_types,
        clouds=clouds,
        fallback_max_nodes=fallback_max,
        targets=targets,
        on_demand_reason=reason,
        warm_spares=spares,
    )


def _warm_spares(key: str, value: Any, *, spot: bool, low: int, high: int) -> int:
    """Spares are spot nodes on top of the pool's minimum, and the minimum with them must fit under the maximum."""
    if value is None:
        return 0
    spares = integer(key, value, 0, MAX_NODES)
    if spares and not spot:
        raise ConfigError(key, "warm spares are spot nodes: this pool has spot: false")
    if low + spares > high:
        raise ConfigError(key, f"minNodes {low} plus {spares} warm spare(s) is above maxNodes ({high})")
    return spares


def _on_demand_reason(key: str, value: Any, spot: bool) -> str:
    """`spot: false` says why (the policy pack admits an on-demand GPU pool only with a reason, and lists it)."""
    if spot:
        if value is not None:
            raise ConfigError(key, "only an on-demand pool (spot: false) takes a reason")
        return ""
    if value is None:
        raise ConfigError(
            key, "missing; a spot: false pool must say why it runs on demand, e.g. onDemandReason: latency-slo"
        )
    reason = string(key, value)
    if not _LABEL_VALUE.fullmatch(reason):
        raise ConfigError(key, f"{reason!r} must be a label value: 1-63 letters, digits, '-', '_' or '.'")
    return reason


def _pool_clouds(key: str, value: Any, target_clouds: Sequence[tuple[str, Cloud]]) -> tuple[Cloud, ...]:
    """The clouds a pool is built on: the stack's clouds, or the subset the pool names."""
    in_stack = [cloud for cloud in CLOUD_NAMES if any(c == cloud for _, c in target_clouds)]
    if value is None:
        return tuple(in_stack)
    chosen: list[Cloud] = []
    for i, cloud in enumerate(string_list(key, value)):
        match = next((c for c in CLOUD_NAMES if c == cloud), None)
        if match is None:
            raise ConfigError(f"{key}[{i}]", f"unknown cloud {cloud!r} (expected one of aws, gcp, azure)")
        chosen.append(match)
    if not chosen:
        raise ConfigError(key, "must name at least one cloud")
    for i, cloud in enumerate(chosen):
        if cloud not in in_stack:
            # The pool would silently not exist there: say so rather than plan without it.
            raise ConfigError(
                f"{key}[{i}]", f"the stack has no {cloud} target (its clouds: {', '.join(in_stack)}); remove {cloud}"
            )
    return tuple(cloud for cloud in in_stack if cloud in chosen)


def _pool_targets(
    key: str, value: Any, clouds: tuple[Cloud, ...], target_clouds: Sequence[tuple[str, Cloud]]
) -> tuple[str, ...]:
    """Every target of the pool's clouds, or the subset it names: a region may lack a GPU its cloud has."""
    on_clouds = [target for target, cloud in target_clouds if cloud in clouds]
    if value is None:
        return tuple(on_clouds)
    names = string_list(key, value)
    if not names:
        raise ConfigError(key, "must name at least one target")
    known = dict(target_clouds)
    for i, name in enumerate(names):
        if name not in known:
            raise ConfigError(f"{key}[{i}]", f"unknown target {name!r} (targets: {', '.join(known)})")
        if name not in on_clouds:
            raise ConfigError(f"{key}[{i}]", f"target {name} is on {known[name]}, which the pool's clouds leave out")
    return tuple(target for target in on_clouds if target in names)


def _machine_types(key: str, value: Any, cloud: Cloud, accelerator: str) -> tuple[str, ...]:
    if value is None:
        return (machines_for(cloud, accelerator)[0].name,)
    names = string_list(key, value)
    if not names:
        raise ConfigError(key, "must list at least one machine type")
    if cloud in _SINGLE_MACHINE_CLOUDS and len(names) > 1:
        node_pool = "GKE node pool" if cloud == "gcp" else "AKS agent pool"
        raise ConfigError(key, f"a {node_pool} takes one machine type; declare another pool for more")
    found = []
    for i, name in enumerate(names):
        spec = machine(cloud, name)
        if spec is None:
            raise ConfigError(f"{key}[{i}]", f"{name!r} is not in the {cloud} machine catalog")
        if spec.accelerator != accelerator:
            carried = spec.accelerator or "no GPU"
            raise ConfigError(f"{key}[{i}]", f"{name} carries {carried}, not the pool's {accelerator}")
        found.append(spec)
    difference = unlike(found)
    if difference is not None:
        raise ConfigError(key, f"machine types in one pool must be alike for the autoscaler: {difference}")
    return tuple(names)
