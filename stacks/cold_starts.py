"""Each model's cold start on each target: the slowest GPU machine type the model may land on there.

Shared by the program (the figure goes on the model's Deployments, components/serving_stack/workloads.py),
`preflight coldstart` and `preflight drill`, so all three judge the same figure. The arithmetic and its sources are
components/cold_start.py's; this module only picks, from the stack's config, which machine types a model's replicas
can be started on: every machine type of every pool with the model's accelerator on that target (the autoscaler may
pick any of them, so the slowest is the promise).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.cold_start import ColdStart, cold_start
from components.target import Cloud
from stacks.cluster_config import GpuPoolConfig
from stacks.serving_config import ModelConfig


def replica_cold_start(
    model: ModelConfig, target: str, cloud: Cloud, pools: Sequence[GpuPoolConfig], *, image_cached: bool = False
) -> ColdStart | None:
    """The slowest start of a replica of `model` on a new node of `target`; None when no pool there can hold it."""
    machine_types = sorted(
        {
            name
            for pool in pools
            if pool.accelerator == model.accelerator and pool.runs_on(target)
            for name in pool.machine_types.get(cloud, ())
        }
    )
    starts = [cold_start(cloud, name, model.size_gib, image_cached=image_cached) for name in machine_types]
    return max(starts, key=lambda start: start.total_seconds, default=None)
