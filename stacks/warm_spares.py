"""Which warm spares a target's ServingStack keeps: one WarmSpare per spot GPU pool there with `warmSpares` set.

The pool's minimum already counts the spares (stacks/footprint.py adds them to GpuPool min_nodes, so the autoscaler
keeps those nodes and the cost report prices them); the ServingStack's placeholder pods keep them free and warm
(components/serving_stack/warm_spares.py). A placeholder asks for every GPU of its node, so each holds a whole node.
"""

from __future__ import annotations

from collections.abc import Sequence

from components import machine_catalog
from components.serving_stack.contract import WarmSpare
from components.target import Cloud
from stacks.cluster_config import GpuPoolConfig


def serving_warm_spares(pools: Sequence[GpuPoolConfig], target: str, cloud: Cloud) -> tuple[WarmSpare, ...]:
    return tuple(
        WarmSpare(pool.name, pool.accelerator, pool.warm_spares, _gpus_per_node(pool, cloud))
        for pool in pools
        if pool.warm_spares and pool.runs_on(target)
    )


def _gpus_per_node(pool: GpuPoolConfig, cloud: Cloud) -> int:
    """The most GPUs a node of the pool has (config and GpuCluster hold a pool's machine types to one count)."""
    counts = [machine_catalog.machine(cloud, name) for name in pool.machine_types[cloud]]
    return max((found.gpus for found in counts if found is not None), default=1)
