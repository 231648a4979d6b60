"""Training pools (`mlplatform:trainingPools`) and what each target offers a training job (the `trainingOffers`
stack output `mlplatform jobs submit` places jobs by).

A training pool is a GPU pool like serving's (stacks/cluster_config.py parses both, one parser): built on every
target of its clouds or on the targets it lists, a spot pool with an on-demand fallback, GpuCluster's machinery.
Training pools differ in three rules: they scale from zero (minNodes 0: an idle cluster pays for no training
node), they are spot (spot: false is refused: a job that must run on demand asks the fallback), and their names
do not clash with serving's pools. Kueue's flavors select them by their pool label, so a training burst never
takes a serving node (components/training).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.machine_catalog import machine
from components.target import Cloud
from components.training import DEFAULT_TEAMS, SERVICE_ACCOUNT, Training, team_namespace
from components.training.identity import CHECKPOINT_PREFIX
from components.training.kueue import TrainingPool, TrainingTeam
from pricing.pricer import Pricer, catalog_hourly
from pricing.table import PriceTable
from stacks.cluster_config import GpuPoolConfig, _gpu_pools
from stacks.validate import ConfigError, integer, kind, mapping, string

# A team name becomes a LocalQueue's name and, prefixed, a namespace's (a DNS label of at most 63): lowercase
# letters, digits and '-', a letter first, at most 30 characters.
_TEAM = re.compile(r"^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$")


@dataclass(frozen=True)
class TrainingConfig:
    pools: tuple[GpuPoolConfig, ...] = ()
    teams: tuple[TrainingTeam, ...] = DEFAULT_TEAMS
    """One namespace (train-<team>), LocalQueue (<team>) and ClusterQueue (train-<team>) each in every cluster with
    training pools, with the GPUs it is guaranteed there."""

    def pools_on(self, target: str) -> tuple[GpuPoolConfig, ...]:
        return tuple(pool for pool in self.pools if pool.runs_on(target))


MAX_TEAM_GPUS = 1024  # far above any pool here; a bound so a typo is caught


def _team(key: str, value: Any) -> TrainingTeam:
    """A name, or `{name: research, gpus: 4}`."""
    plain = isinstance(value, str)
    fields = mapping(key, {"name": value} if plain else value, {"name", "gpus"})
    name_key = key if plain else f"{key}.name"
    name = string(name_key, fields.get("name"))
    if not _TEAM.fullmatch(name):
        raise ConfigError(name_key, f"{name!r} must be 1-30 lowercase letters, digits or '-', a letter first")
    gpus = integer(f"{key}.gpus", fields.get("gpus", 0), 0, MAX_TEAM_GPUS)
    return TrainingTeam(name, gpus)


def parse_teams(key: str, value: Any) -> tuple[TrainingTeam, ...]:
    """`mlplatform:trainingTeams`: the teams that get a namespace and queues (default: one, `ml`), each a name or
    `{name, gpus}` with the GPUs guaranteed to it on each training flavor (components/training/kueue.py)."""
    if value is None:
        return DEFAULT_TEAMS
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of team names or {{name, gpus}} maps, got {kind(value)}")
    if not value:
        raise ConfigError(key, "must name at least one team (leave it out for the one team `ml`)")
    teams: list[TrainingTeam] = []
    for i, item in enumerate(value):
        team = _team(f"{key}[{i}]", item)
        if team.name in {t.name for t in teams}:
            raise ConfigError(f"{key}[{i}]", f"{team.name!r} is listed twice")
        teams.append(team)
    return tuple(teams)


def parse_training(
    key: str,
    value: Any,
    serving_pools: Sequence[GpuPoolConfig],
    target_clouds: Sequence[tuple[str, Cloud]],
    teams: tuple[TrainingTeam, ...] = DEFAULT_TEAMS,
) -> TrainingConfig:
    """`value` is the list under `trainingPools` (None: no training pools, no Kueue)."""
    if value is None:
        return TrainingConfig(teams=teams)
    pools = _gpu_pools(key, value, target_clouds)
    taken = {name for pool in serving_pools for name in (pool.name, pool.fallback_name)}
    for i, pool in enumerate(pools):
        if not pool.spot:
            raise ConfigError(
                f"{key}[{i}].spot", "training pools are spot (a job that must run on demand uses the fallback)"
            )
        if pool.min_nodes != 0:
            raise ConfigError(f"{key}[{i}].minNodes", f"training pools scale from zero, got {pool.min_nodes}")
        if pool.spot_max_price is not None:
            raise ConfigError(f"{key}[{i}].spotMaxPrice", "not for training pools: a job's cap is its own")
        if pool.warm_spares:
            raise ConfigError(f"{key}[{i}].warmSpares", "not for training pools: they scale from zero for queued jobs")
        clash = {pool.name, pool.fallback_name} & taken
        if clash:
            raise ConfigError(f"{key}[{i}].name", f"{pool.name!r} clashes with gpuPools ({', '.join(sorted(clash))})")
    return TrainingConfig(pools, teams)


def training_offers(
    training: TrainingConfig,
    targets: Sequence[tuple[str, Cloud, str]],
    prices: PriceTable,
) -> dict[str, dict[str, Any]]:
    """Per target with training pools: its pools with their prices per GPU-hour (the price table's, the figures
    `preflight compare` uses), each team's namespace and queue, the service account a job runs as. The checkpoint
    location is joined in by the caller from the bucket's output."""
    offers: dict[str, dict[str, Any]] = {}
    for name, cloud, region in targets:
        pools = training.pools_on(name)
        if not pools:
            continue
        pricer = Pricer(prices, cloud, region)
        offers[name] = {
            "cloud": cloud,
            "region": region,
            "teams": {t.name: {"namespace": team_namespace(t.name), "queue": t.name} for t in training.teams},
            "serviceAccount": SERVICE_ACCOUNT,
            "pools": [_pool_offer(pool, cloud, pricer) for pool in pools],
        }
    return offers


def _pool_offer(pool: GpuPoolConfig, cloud: Cloud, pricer: Pricer) -> Mapping[str, Any]:
    spec = machine(cloud, pool.machine_types[cloud][0])
    assert spec is not None and spec.gpus > 0  # the parser checked the machine carries the pool's accelerator
    spot, on_demand = catalog_hourly(pricer, spec, spot=True), catalog_hourly(pricer, spec, spot=False)
    if spot is None or on_demand is None:
        raise ConfigError(
            "mlplatform:trainingPools", f"the price table has no price for {cloud} {spec.name} (pool {pool.name})"
        )
    return {
        "pool": pool.name,
        "accelerator": pool.accelerator,
        "machineType": spec.name,
        "gpusPerNode": spec.gpus,
        "maxNodes": pool.max_nodes,
        "fallbackMaxNodes": pool.fallback_max_nodes,
        "spotPerGpuHour": round(spot / spec.gpus, 5),
        "onDemandPerGpuHour": round(on_demand / spec.gpus, 5),
    }


def training_pools(training: TrainingConfig, target: str, cloud: Cloud) -> tuple[TrainingPool, ...]:
    """The target's training pools as the Training component's Args: one node's size from the catalog."""
    found = []
    for pool in training.pools_on(target):
        spec = machine(cloud, pool.machine_types[cloud][0])
        assert spec is not None  # the parser checked every machine type against the catalog
        found.append(
            TrainingPool(
                name=pool.name,
                fallback_name=pool.fallback_name,
                accelerator=pool.accelerator,
                gpus_per_node=spec.gpus,
                vcpus=spec.vcpus,
                memory_gib=int(spec.memory_gib),
                max_nodes=pool.max_nodes,
                fallback_max_nodes=pool.fallback_max_nodes,
            )
        )
    return tuple(found)


def job_offer(offer: Mapping[str, Any], bucket_uri: pulumi.Output[str], training: Training | None) -> dict[str, Any]:
    """A target's offer as the stack output has it: where its teams' checkpoints go (`<bucket>/checkpoints`, each
    team under its own prefix) and what each team's pods carry for its cloud identity (labels, environment)."""
    teams = {
        name: {
            **team,
            "podLabels": dict(training.identities[name].pod_labels) if training else {},
            "env": dict(training.identities[name].env) if training else {},
        }
        for name, team in offer["teams"].items()
    }
    return {**offer, "teams": teams, "checkpointUri": pulumi.Output.concat(bucket_uri, f"/{CHECKPOINT_PREFIX}")}
