"""Cost savings a stack chooses (`mlplatform:costSavings`); each gives something up, named in docs/COST.md.

    mlplatform:costSavings:
      gkeFreeTier: true         # this stack's zonal GKE cluster takes the billing account's free tier credit
      databases: primary        # primary | every-target: a metadata database on the primary target only
      spotSystemNodes: true     # EKS and GKE system nodes on spot (AKS system pools cannot be spot)
      publicNodes: true         # EKS nodes with public addresses, no NAT gateway

Both environments put the database on the primary target only (the model sync's primary, else the first target):
the model registry there is its one consumer (components/model_registry; docs/ARCHITECTURE.md, "The metadata
databases"); `every-target` stays a choice for a stack with consumers of its own. Prod refuses spot system nodes and
public nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.target import Cloud
from stacks.validate import ConfigError, boolean, mapping, string

COST_KEYS = {"gkeFreeTier", "databases", "spotSystemNodes", "publicNodes"}
DATABASE_PLACEMENTS = ("primary", "every-target")
# The clouds whose system pool may run on spot: AKS refuses spot for a system-mode pool
# (learn.microsoft.com/azure/aks/spot-node-pool, "Limitations", read 2026-12).
SPOT_SYSTEM_CLOUDS: tuple[Cloud, ...] = ("aws", "gcp")


@dataclass(frozen=True)
class CostDefaults:
    """What an environment means for cost; see stacks.config.PROFILES."""

    databases: str
    spot_system_allowed: bool
    """Prod keeps its add-ons (gateway, Prometheus, admission) on nodes no cloud takes back."""
    public_nodes_allowed: bool = False
    """Prod keeps its nodes off the internet, behind NAT."""


PROD_COST = CostDefaults(databases="primary", spot_system_allowed=False)
DEV_COST = CostDefaults(databases="primary", spot_system_allowed=True, public_nodes_allowed=True)


@dataclass(frozen=True)
class CostConfig:
    gke_free_tier: bool = False
    """The billing account's GKE free tier credit goes to this stack's one zonal GKE cluster."""
    database_targets: tuple[str, ...] = ()
    """The targets that get a metadata database; empty: every target."""
    spot_system_nodes: bool = False
    public_nodes: bool = False
    """AWS: nodes with public addresses and no NAT gateway."""

    def has_database(self, target: str) -> bool:
        return not self.database_targets or target in self.database_targets

    def spot_system(self, cloud: Cloud) -> bool:
        return self.spot_system_nodes and cloud in SPOT_SYSTEM_CLOUDS


def parse_cost(
    key: str,
    value: Any,
    defaults: CostDefaults,
    target_clouds: Sequence[tuple[str, Cloud]],
    primary: str,
    regional_gke: bool,
) -> CostConfig:
    """`primary` is the target whose database stays with `databases: primary`; `regional_gke` whether the
    environment makes GKE control planes regional (the free tier credit covers a zonal one only)."""
    fields = mapping(key, {} if value is None else value, COST_KEYS)
    free_tier = boolean(f"{key}.gkeFreeTier", fields.get("gkeFreeTier", False))
    if free_tier:
        gke = [name for name, cloud in target_clouds if cloud == "gcp"]
        if len(gke) != 1:
            raise ConfigError(
                f"{key}.gkeFreeTier", f"the credit covers one GKE cluster; the stack has {len(gke)} gcp targets"
            )
        if regional_gke:
            raise ConfigError(f"{key}.gkeFreeTier", "the credit covers a zonal cluster; this environment's is regional")
    placement = string(f"{key}.databases", fields.get("databases", defaults.databases))
    if placement not in DATABASE_PLACEMENTS:
        raise ConfigError(f"{key}.databases", f"expected primary or every-target, got {placement!r}")
    spot = boolean(f"{key}.spotSystemNodes", fields.get("spotSystemNodes", False))
    if spot and not defaults.spot_system_allowed:
        raise ConfigError(f"{key}.spotSystemNodes", "prod keeps its system nodes on demand")
    if spot and not any(cloud in SPOT_SYSTEM_CLOUDS for _, cloud in target_clouds):
        raise ConfigError(f"{key}.spotSystemNodes", "AKS system pools cannot be spot and the stack has only azure")
    public = boolean(f"{key}.publicNodes", fields.get("publicNodes", False))
    if public and not defaults.public_nodes_allowed:
        raise ConfigError(f"{key}.publicNodes", "prod keeps its nodes private, behind NAT")
    if public and not any(cloud == "aws" for _, cloud in target_clouds):
        raise ConfigError(f"{key}.publicNodes", "only EKS nodes go without NAT here and the stack has no aws target")
    return CostConfig(
        gke_free_tier=free_tier,
        database_targets=(primary,) if placement == "primary" else (),
        spot_system_nodes=spot,
        public_nodes=public,
    )
