"""Models as config: each served on every target, a stable version and an optional canary.

Promotion and rollback are config changes: move the canary's weight (or the canary itself)
into `stable`; how the versions are routed and the bounds a promotion is judged by are config too
(stacks/promotion_config.py). Checked against the stack's GPU pools and the machine catalog, so a model
that cannot fit its GPUs fails before anything is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.cold_start import DEFAULT_MODEL_GIB
from components.machine_catalog import machine
from components.target import Cloud
from stacks.cluster_config import GpuPoolConfig
from stacks.promotion_config import DEFAULT as DEFAULT_PROMOTION
from stacks.promotion_config import PromotionConfig, parse_promotion, parse_routing
from stacks.validate import ConfigError, integer, mapping, number, string

MODEL_KEYS = {
    "name",
    "accelerator",
    "gpusPerReplica",
    "minReplicas",
    "maxReplicas",
    "onDemandFloor",
    "stable",
    "canary",
    "sizeGiB",
    "team",
    "routing",
    "promotion",
}
VERSION_KEYS = {"name", "path", "weight"}
# Object names: "<model>-<version>-floor" must stay a 63-character DNS label.
_MODEL_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_VERSION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
# The team a model's cost goes to (rules/cost.yaml, `preflight chargeback`): a Kubernetes label value.
_TEAM = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DEFAULT_TEAM = "ml"
_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
MAX_REPLICAS = 100
MAX_MODEL_GIB = 2048  # larger than any GPU node's memory the catalog holds


@dataclass(frozen=True)
class VersionConfig:
    name: str
    path: str
    weight: int


@dataclass(frozen=True)
class ModelConfig:
    name: str
    accelerator: str
    gpus_per_replica: int
    min_replicas: int
    max_replicas: int
    on_demand_floor: int
    stable: VersionConfig
    canary: VersionConfig | None
    size_gib: float = DEFAULT_MODEL_GIB
    """The model repository's size, for the cold start's copy and load phases (components/cold_start.py)."""
    routing: str = "canary"
    """canary | ab | blueGreen (stacks/promotion_config.py): how callers reach the versions."""
    promotion: PromotionConfig = DEFAULT_PROMOTION
    """The bounds and steps `mlplatform models promote` judges the canary by (the stack's, then the model's)."""
    team: str = DEFAULT_TEAM
    """Who pays for it: the serving pods' mlplatform.io/team label, by which cost is recorded and charged back."""


@dataclass(frozen=True)
class ServingDefaults:
    """What an environment means for serving; see stacks.config.PROFILES."""

    min_replicas: int
    on_demand_floor: int
    least_min_replicas: int  # prod keeps at least two replicas of every version


def parse_models(
    key: str,
    value: Any,
    defaults: ServingDefaults,
    pools: Sequence[GpuPoolConfig],
    target_clouds: Sequence[tuple[str, Cloud]],
    promotion: PromotionConfig = DEFAULT_PROMOTION,
) -> tuple[ModelConfig, ...]:
    """`promotion`: the stack-wide bounds (`mlplatform:promotion`), which each model's own `promotion` overrides."""
    if not isinstance(value, list):
        raise ConfigError(key, "expected a list of models")
    models = tuple(
        _model(f"{key}[{i}]", item, defaults, pools, target_clouds, promotion) for i, item in enumerate(value)
    )
    seen: dict[str, int] = {}
    for i, model in enumerate(models):
        if model.name in seen:
            raise ConfigError(f"{key}[{i}].name", f"{model.name!r} is already used by {key}[{seen[model.name]}]")
        seen[model.name] = i
    return models


def _model(
    key: str,
    item: Any,
    defaults: ServingDefaults,
    pools: Sequence[GpuPoolConfig],
    target_clouds: Sequence[tuple[str, Cloud]],
    promotion: PromotionConfig,
) -> ModelConfig:
    fields = mapping(key, item, MODEL_KEYS)
    name = string(f"{key}.name", fields.get("name"))
    if not _MODEL_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"{name!r} must be a DNS label of at most 40 characters")
    accelerator = string(f"{key}.accelerator", fields.get("accelerator")).upper()
    gpus = integer(f"{key}.gpusPerReplica", fields.get("gpusPerReplica", 1), 1, 16)
    _check_fits(key, accelerator, gpus, pools, target_clouds)

    # At least one: with no pod, nothing reports the pending requests that would scale it back up.
    low = integer(f"{key}.minReplicas", fields.get("minReplicas", defaults.min_replicas), 1, MAX_REPLICAS)
    if low < defaults.least_min_replicas:
        raise ConfigError(
            f"{key}.minReplicas", f"prod keeps at least {defaults.least_min_replicas} replicas, got {low}"
        )
    high = integer(f"{key}.maxReplicas", fields.get("maxReplicas", max(4, low)), 1, MAX_REPLICAS)
    if low > high:
        raise ConfigError(f"{key}.minReplicas", f"{low} is above maxReplicas ({high})")
    floor = integer(f"{key}.onDemandFloor", fields.get("onDemandFloor", defaults.on_demand_floor), 0, MAX_REPLICAS)
    if floor > high:
        raise ConfigError(f"{key}.onDemandFloor", f"{floor} is above maxReplicas ({high})")

    if "stable" not in fields:
        problem = "a canary needs a stable version to share traffic with" if "canary" in fields else "missing"
        raise ConfigError(f"{key}.stable", problem)
    stable = _version(f"{key}.stable", fields["stable"], default_weight=100)
    canary = _version(f"{key}.canary", fields["canary"], default_weight=0) if "canary" in fields else None
    total = stable.weight + (canary.weight if canary else 0)
    if total != 100:
        where = f"{key}.canary.weight" if canary else f"{key}.stable.weight"
        raise ConfigError(where, f"the weights must add up to 100, they add up to {total}")
    if canary and canary.name in (stable.name, f"{stable.name}-floor"):
        raise ConfigError(
            f"{key}.canary.name", f"{canary.name!r} clashes with the stable version {stable.name!r} or its floor"
        )
    size = number(f"{key}.sizeGiB", fields.get("sizeGiB", DEFAULT_MODEL_GIB), 0, MAX_MODEL_GIB, above=True)
    team = string(f"{key}.team", fields.get("team", DEFAULT_TEAM))
    if not _TEAM.fullmatch(team):
        raise ConfigError(f"{key}.team", f"{team!r} must be a DNS label (lower case, digits, '-')")
    routing = parse_routing(f"{key}.routing", fields.get("routing", "canary"))
    if routing == "blueGreen" and canary and canary.weight not in (0, 100):
        raise ConfigError(
            f"{key}.canary.weight", f"blueGreen switches all traffic at once: 0 or 100, got {canary.weight}"
        )
    bounds = parse_promotion(f"{key}.promotion", fields.get("promotion"), promotion)
    return ModelConfig(name, accelerator, gpus, low, high, floor, stable, canary, size, routing, bounds, team)


def _version(key: str, value: Any, default_weight: int) -> VersionConfig:
    fields = mapping(key, value, VERSION_KEYS)
    name = string(f"{key}.name", fields.get("name"))
    if not _VERSION_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"{name!r} must be a DNS label of at most 15 characters")
    path = string(f"{key}.path", fields.get("path"))
    if not _PATH.fullmatch(path) or ".." in path.split("/"):
        raise ConfigError(f"{key}.path", f"{path!r} must be a relative path inside the bucket, such as models/v1")
    weight = integer(f"{key}.weight", fields.get("weight", default_weight), 0, 100)
    return VersionConfig(name, path, weight)


def _check_fits(
    key: str,
    accelerator: str,
    gpus: int,
    pools: Sequence[GpuPoolConfig],
    target_clouds: Sequence[tuple[str, Cloud]],
) -> None:
    """Every target must have a pool of this accelerator whose machines hold `gpus` GPUs."""
    for target, cloud in target_clouds:
        fitting = [p for p in pools if p.accelerator == accelerator and p.runs_on(target)]
        if not fitting:
            raise ConfigError(
                f"{key}.accelerator",
                f"no GPU pool with {accelerator} on {cloud} (target {target}); add one to gpuPools",
            )
        most = max(_gpus_per_node(pool.machine_types, cloud) for pool in fitting)
        if gpus > most:
            raise ConfigError(
                f"{key}.gpusPerReplica",
                f"{gpus} GPUs do not fit the {accelerator} pools on {cloud}, whose machines have {most}",
            )


def _gpus_per_node(machine_types: Mapping[Cloud, tuple[str, ...]], cloud: Cloud) -> int:
    counts = [spec.gpus for name in machine_types[cloud] if (spec := machine(cloud, name)) is not None]
    return min(counts) if counts else 0
