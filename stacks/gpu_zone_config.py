"""Refuse a GCP region whose zones cannot hold the stack's GPU pools, before anything is planned.

GKE node pools span the cluster's zones, so each of them must offer every GPU pool's
accelerator; the environment asks for `zones` of them (2 in dev, 3 in prod). Where a region
has fewer, a first `pulumi up` would fail on the node pools after the cluster has been made.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.gpu_cluster import gcp_zones
from stacks.cluster_config import GpuPoolConfig
from stacks.validate import ConfigError


def check_gcp_gpu_zones(
    key: str, targets: Sequence[tuple[str, str, str]], pools: Sequence[GpuPoolConfig], zones: int
) -> None:
    """`targets` is (name, cloud, region) per target, in config order; `key` is the targets key."""
    for i, (name, cloud, region) in enumerate(targets):
        if cloud != "gcp" or zones < 1:
            continue
        accelerators = sorted({pool.accelerator for pool in pools if pool.runs_on(name)})
        if len(gcp_zones.gpu_zones(region, accelerators)) < zones:
            raise ConfigError(
                f"{key}[{i}].region",
                f"{gcp_zones.too_few_zones(region, accelerators, zones)}; pick another region "
                "or keep these GPU pools off this target (targets: [...])",
            )
