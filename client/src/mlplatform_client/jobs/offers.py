"""What each target offers for training, read from the stack output `trainingOffers`.

Shape (one entry per target, written by the program's stacks/training_config.py):

    {"aws-us-east-1": {"cloud": "aws", "region": "us-east-1", "serviceAccount": "trainer",
                       "teams": {"ml": {"namespace": "train-ml", "queue": "ml", "podLabels": {}, "env": {}}},
                       "checkpointUri": "s3://<bucket>/checkpoints",
                       "pools": [{"pool": "l4t", "accelerator": "L4", "machineType": "g6.xlarge",
                                  "gpusPerNode": 1, "maxNodes": 4, "fallbackMaxNodes": 2,
                                  "spotPerGpuHour": 0.38, "onDemandPerGpuHour": 0.8048}]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class OffersError(ValueError):
    """The stack outputs lack `trainingOffers` or hold a malformed entry (the message names it)."""


@dataclass(frozen=True)
class PoolOffer:
    """One training pool of a target: a spot pool and its on-demand fallback of the same machine."""

    pool: str
    accelerator: str
    machine_type: str
    gpus_per_node: int
    max_nodes: int
    fallback_max_nodes: int
    """Nodes the on-demand fallback may add; 0 when the pool has none."""
    spot_per_gpu_hour: float
    on_demand_per_gpu_hour: float

    def nodes_for(self, gpus: int) -> int | None:
        """Nodes a job of `gpus` GPUs takes (one pod per node), or None when its GPUs do not split evenly."""
        if gpus <= self.gpus_per_node:
            return 1
        return gpus // self.gpus_per_node if gpus % self.gpus_per_node == 0 else None


@dataclass(frozen=True)
class Team:
    name: str
    namespace: str
    queue: str
    """The LocalQueue in `namespace` the Job is labelled with (kueue.x-k8s.io/queue-name)."""
    pod_labels: tuple[tuple[str, str], ...] = ()
    """What the team's cloud identity needs on each pod (AKS: azure.workload.identity/use)."""
    env: tuple[tuple[str, str], ...] = ()
    """What the cloud SDKs need beside it (AWS: the region)."""


@dataclass(frozen=True)
class TargetOffer:
    target: str
    cloud: str
    region: str
    teams: tuple[Team, ...]
    service_account: str
    """The workload identity that may write `checkpoint_uri`."""
    checkpoint_uri: str
    pools: tuple[PoolOffer, ...]


def _field(where: str, entry: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise OffersError(f"trainingOffers.{where}.{key}: expected {getattr(kind, '__name__', 'a number')}")
    return value


def _pool(where: str, entry: Any) -> PoolOffer:
    if not isinstance(entry, Mapping):
        raise OffersError(f"trainingOffers.{where}: expected an object")
    number = (int, float)
    return PoolOffer(
        pool=_field(where, entry, "pool", str),
        accelerator=_field(where, entry, "accelerator", str).upper(),
        machine_type=_field(where, entry, "machineType", str),
        gpus_per_node=_field(where, entry, "gpusPerNode", int),
        max_nodes=_field(where, entry, "maxNodes", int),
        fallback_max_nodes=_field(where, entry, "fallbackMaxNodes", int),
        spot_per_gpu_hour=float(_field(where, entry, "spotPerGpuHour", number)),
        on_demand_per_gpu_hour=float(_field(where, entry, "onDemandPerGpuHour", number)),
    )


def _strings(where: str, entry: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    """An optional map of strings (absent in outputs written before the training identity)."""
    value = entry.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise OffersError(f"trainingOffers.{where}.{key}: expected an object of strings")
    return tuple(sorted((str(k), v) for k, v in value.items()))


def _team(where: str, name: str, entry: Any) -> Team:
    if not isinstance(entry, Mapping):
        raise OffersError(f"trainingOffers.{where}: expected an object")
    return Team(
        name,
        _field(where, entry, "namespace", str),
        _field(where, entry, "queue", str),
        _strings(where, entry, "podLabels"),
        _strings(where, entry, "env"),
    )


def offers_from_outputs(outputs: Mapping[str, Any]) -> tuple[TargetOffer, ...]:
    """Every target's offer, in target-name order (so every later choice is stable)."""
    raw = outputs.get("trainingOffers")
    if not isinstance(raw, Mapping) or not raw:
        raise OffersError("the stack outputs have no trainingOffers: the stack declares no trainingPools")
    found = []
    for name in sorted(raw):
        entry = raw[name]
        if not isinstance(entry, Mapping):
            raise OffersError(f"trainingOffers.{name}: expected an object")
        pools, teams = entry.get("pools"), entry.get("teams")
        if not isinstance(pools, list):
            raise OffersError(f"trainingOffers.{name}.pools: expected a list")
        if not isinstance(teams, Mapping) or not teams:
            raise OffersError(f"trainingOffers.{name}.teams: expected an object of teams")
        found.append(
            TargetOffer(
                target=name,
                cloud=_field(name, entry, "cloud", str),
                region=_field(name, entry, "region", str),
                teams=tuple(_team(f"{name}.teams.{team}", team, teams[team]) for team in sorted(teams)),
                service_account=_field(name, entry, "serviceAccount", str),
                checkpoint_uri=_field(name, entry, "checkpointUri", str).rstrip("/"),
                pools=tuple(_pool(f"{name}.pools[{i}]", pool) for i, pool in enumerate(pools)),
            )
        )
    return tuple(found)
