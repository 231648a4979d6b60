"""Each model's cold start on each target: the slowest GPU machine type the model may land on there.

Shared by the program (the figure goes on the model's Deployments, components/serving_stack/workloads.py),
`preflight coldstart` and `preflight drill`, so all three judge the same figure. The arithmetic and its sources are
components/cold_start.py's; this module only picks, from the stack's config, which machine types a model's replicas
can be started on: every machine type of every pool with the model's accelerator on that target (the autoscaler may
pick any of them, so the slowest is the promise).

Warm spares (`warmSpares` on a GPU pool) change the first replicas' start: where a pool with the model's accelerator
keeps spares on the target, the first `warm_spares(...)` replicas of a scale-up take a spare's place, and only the
ones beyond them wait for a new node. `warm=True` asks for the first replica's figure (what the budget judges),
`warm=False` for a replica on a new node (what a loss that uses up the spares waits for: `preflight drill`).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.cold_start import ColdStart, cold_start
from components.target import Cloud
from stacks.cluster_config import GpuPoolConfig
from stacks.serving_config import ModelConfig


def _pools(model: ModelConfig, target: str, pools: Sequence[GpuPoolConfig]) -> list[GpuPoolConfig]:
    return [pool for pool in pools if pool.accelerator == model.accelerator and pool.runs_on(target)]


def warm_spares(model: ModelConfig, target: str, pools: Sequence[GpuPoolConfig]) -> int:
    """How many spot nodes with the model's accelerator the target keeps warm (shared by every model on them)."""
    return sum(pool.warm_spares for pool in _pools(model, target, pools))


def replica_cold_start(
    model: ModelConfig,
    target: str,
    cloud: Cloud,
    pools: Sequence[GpuPoolConfig],
    *,
    image_cached: bool = False,
    warm: bool = False,
) -> ColdStart | None:
    """The slowest start of a replica of `model` on `target`: on a warm spare when `warm` and the target keeps one,
    else on a new node; None when no pool there can hold the model."""
    found = _pools(model, target, pools)
    spare = warm and any(pool.warm_spares for pool in found)
    machine_types = sorted(
        {name for pool in found if pool.warm_spares or not spare for name in pool.machine_types.get(cloud, ())}
    )
    starts = [
        cold_start(cloud, name, model.size_gib, image_cached=image_cached, warm_spare=spare) for name in machine_types
    ]
    return max(starts, key=lambda start: start.total_seconds, default=None)
