"""One view of a Kubernetes node pool, read from any of the resource shapes that declare one.

Spot and cost rules ask the same questions of an EKS managed node group, a GKE node pool
and an AKS agent pool: is it a GPU pool, is it spot, how small and how large can it get,
is it marked as the on-demand fallback. Each shape is read here once.

Shapes: pulumi-eks's ManagedNodeGroup and NodeGroupV2 components (offline these are all
there is: their children exist only under the engine) and, under them, aws eks NodeGroup;
gcp container NodePool and the pools inline in a gcp container Cluster; azure-native
AgentPool and the agentPoolProfiles inside a ManagedCluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.props import field, is_true, items, mapping, number

FALLBACK_LABEL = "mlplatform.io/fallback"
ON_DEMAND_REASON_LABEL = "mlplatform.io/on-demand-reason"  # why a GPU pool that is no fallback runs on demand

# EC2 GPU families: g4dn, g5, g6e, gr6, p4d, p5 ... (not Graviton's m7g, whose 'g' is a suffix).
_AWS_GPU_FAMILY = re.compile(r"^(g|gr|p)\d")
# GCP machine families with GPUs attached by the machine type itself (A2/A3/A4: A100/H100/B200, G2/G4: L4/RTX).
_GCP_GPU_MACHINE = re.compile(r"^(a2|a3|a4|g2|g4)-")
# Azure's GPU sizes are the N family: NC, ND, NG, NV; the vCPU count after the letters is the size in the series.
_AZURE_GPU_SIZE = re.compile(r"^Standard_N[CDGV]", re.IGNORECASE)
_AZURE_SIZE_VCPUS = re.compile(r"^(Standard_N[A-Z])\d+", re.IGNORECASE)
# A GCP zone (us-central1-a), as opposed to a region (us-central1).
_GCP_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
# GKE spreads a regional cluster's nodes over three of the region's zones unless told otherwise.
_GKE_DEFAULT_REGIONAL_ZONES = 3


@dataclass(frozen=True)
class NodePool:
    """One node pool. accelerator is the kind of GPU ('' for none), written so that two pools of
    the same GPU agree whatever their size: the EC2 family (g6), the Azure series without its vCPU
    count (Standard_NCas_T4_v3), the GKE guest accelerator (nvidia-tesla-t4) or GPU machine series
    (g2-standard). min_size and max_size count nodes in all of the pool's zones."""

    cloud: str
    name: str
    cluster: str
    machine_types: tuple[str, ...]
    accelerator: str
    spot: bool
    labels: Mapping[str, str]
    min_size: float
    max_size: float

    @property
    def gpu(self) -> bool:
        return bool(self.accelerator)

    def marked_fallback(self, label: str = FALLBACK_LABEL) -> bool:
        return is_true(self.labels.get(label))


def pools_of(resource_type: str, props: Mapping[str, Any], name: str) -> list[NodePool]:
    """The node pools a resource declares (none for any other resource type)."""
    reader = _READERS.get(resource_type)
    return reader(props, name) if reader else []


def gpu_pools_of(resource_type: str, props: Mapping[str, Any], name: str) -> list[NodePool]:
    return [pool for pool in pools_of(resource_type, props, name) if pool.gpu]


def _labels(value: Any) -> dict[str, str]:
    return {str(key): str(val) for key, val in mapping(value).items()}


def _aws_managed(props: Mapping[str, Any], name: str) -> list[NodePool]:
    machine_types = tuple(str(t) for t in items(props.get("instanceTypes")))
    ami_type = str(props.get("amiType") or "")
    gpu_families = {t.split(".")[0] for t in machine_types if _AWS_GPU_FAMILY.match(t)}
    accelerator = ",".join(sorted(gpu_families)) or (ami_type if ("NVIDIA" in ami_type or "GPU" in ami_type) else "")
    cluster = props.get("cluster") if isinstance(props.get("cluster"), str) else props.get("clusterName")
    return [
        NodePool(
            cloud="aws",
            name=str(props.get("nodeGroupName") or name),
            cluster=str(cluster or ""),
            machine_types=machine_types,
            accelerator=accelerator,
            spot=str(props.get("capacityType") or "ON_DEMAND").upper() == "SPOT",
            labels=_labels(props.get("labels")),
            min_size=number(field(props, "scalingConfig", "minSize")),
            max_size=number(field(props, "scalingConfig", "maxSize")),
        )
    ]


def _aws_self_managed(props: Mapping[str, Any], name: str) -> list[NodePool]:
    """pulumi-eks NodeGroupV2: one instance type; spot when it carries a spot price."""
    machine_type = str(props.get("instanceType") or "")
    gpu = bool(_AWS_GPU_FAMILY.match(machine_type)) or is_true(props.get("gpu"))
    cluster = props.get("cluster")
    return [
        NodePool(
            cloud="aws",
            name=name,
            cluster=cluster if isinstance(cluster, str) else "",
            machine_types=(machine_type,) if machine_type else (),
            accelerator=(machine_type.split(".")[0] or "gpu") if gpu else "",
            spot=bool(props.get("spotPrice")),
            labels=_labels(props.get("labels")),
            min_size=number(props.get("minSize"), 1.0),
            max_size=number(props.get("maxSize"), 2.0),
        )
    ]


def _gcp_cluster_zones(location: Any, node_locations: Any) -> int:
    """How many zones a GKE cluster puts its nodes in (a zonal cluster's nodeLocations leave out its own zone)."""
    zonal = bool(_GCP_ZONE.match(str(location or "")))
    listed = len(items(node_locations))
    if listed:
        return listed + 1 if zonal else listed
    return 1 if zonal else _GKE_DEFAULT_REGIONAL_ZONES


def _gcp_pool(pool: Mapping[str, Any], name: str, cluster: str, cluster_zones: int) -> NodePool:
    """A GKE pool; its node counts (but not its totals) are per zone, in its own zones or else its cluster's."""
    config = mapping(pool.get("nodeConfig"))
    machine_type = str(config.get("machineType") or "")
    if _GCP_GPU_MACHINE.match(machine_type):  # the machine brings its GPU; guestAccelerators may or may not say so
        accelerator = "-".join(machine_type.split("-")[:2])
    else:
        accelerators = sorted({str(field(a, "type") or "") for a in items(config.get("guestAccelerators"))})
        accelerator = ",".join(a for a in accelerators if a)
    autoscaling = mapping(pool.get("autoscaling"))
    zones = len(items(pool.get("nodeLocations"))) or cluster_zones
    fixed = number(pool.get("nodeCount", pool.get("initialNodeCount")), 0.0) * zones
    if autoscaling:
        min_size = number(autoscaling.get("totalMinNodeCount"), number(autoscaling.get("minNodeCount")) * zones)
        max_size = number(autoscaling.get("totalMaxNodeCount"), number(autoscaling.get("maxNodeCount")) * zones)
    else:
        min_size = max_size = fixed
    return NodePool(
        cloud="gcp",
        name=str(pool.get("name") or name),
        cluster=cluster,
        machine_types=(machine_type,) if machine_type else (),
        accelerator=accelerator,
        spot=is_true(config.get("spot")) or is_true(config.get("preemptible")),
        labels=_labels(config.get("labels")),
        min_size=min_size,
        max_size=max_size,
    )


def _gcp_node_pool(props: Mapping[str, Any], name: str) -> list[NodePool]:
    cluster = "/".join(str(props.get(key) or "") for key in ("project", "location", "cluster"))
    # The cluster's nodeLocations are not among the pool's inputs: a regional cluster counts as GKE's default.
    return [_gcp_pool(props, name, cluster, _gcp_cluster_zones(props.get("location"), None))]


def _gcp_cluster(props: Mapping[str, Any], name: str) -> list[NodePool]:
    zones = _gcp_cluster_zones(props.get("location"), props.get("nodeLocations"))
    pools = [_gcp_pool(mapping(pool), name, name, zones) for pool in items(props.get("nodePools"))]
    if props.get("nodeConfig") is not None and not is_true(props.get("removeDefaultNodePool")):
        default = {
            "name": "default-pool",
            "nodeConfig": props.get("nodeConfig"),
            "nodeCount": props.get("initialNodeCount"),
        }
        pools.append(_gcp_pool(default, name, name, zones))
    return pools


def _azure_pool(pool: Mapping[str, Any], name: str, cluster: str) -> NodePool:
    vm_size = str(pool.get("vmSize") or "")
    autoscaling = is_true(pool.get("enableAutoScaling"))
    count = number(pool.get("count"), 1.0)
    return NodePool(
        cloud="azure",
        name=str(pool.get("agentPoolName") or pool.get("name") or name),
        cluster=cluster,
        machine_types=(vm_size,) if vm_size else (),
        accelerator=_AZURE_SIZE_VCPUS.sub(r"\1", vm_size) if _AZURE_GPU_SIZE.match(vm_size) else "",
        spot=str(pool.get("scaleSetPriority") or "Regular").lower() == "spot",
        labels=_labels(pool.get("nodeLabels")),
        min_size=number(pool.get("minCount"), count) if autoscaling else count,
        max_size=number(pool.get("maxCount"), count) if autoscaling else count,
    )


def _azure_agent_pool(props: Mapping[str, Any], name: str) -> list[NodePool]:
    cluster = f"{props.get('resourceGroupName') or ''}/{props.get('resourceName') or ''}"
    return [_azure_pool(props, name, cluster)]


def _azure_managed_cluster(props: Mapping[str, Any], name: str) -> list[NodePool]:
    cluster = f"{props.get('resourceGroupName') or ''}/{props.get('resourceName') or name}"
    return [_azure_pool(mapping(pool), name, cluster) for pool in items(props.get("agentPoolProfiles"))]


_READERS: dict[str, Callable[[Mapping[str, Any], str], list[NodePool]]] = {
    "eks:index:ManagedNodeGroup": _aws_managed,
    "aws:eks/nodeGroup:NodeGroup": _aws_managed,
    "eks:index:NodeGroupV2": _aws_self_managed,
    "eks:index:NodeGroup": _aws_self_managed,
    "gcp:container/nodePool:NodePool": _gcp_node_pool,
    "gcp:container/cluster:Cluster": _gcp_cluster,
    "azure-native:containerservice:AgentPool": _azure_agent_pool,
    "azure-native:containerservice:ManagedCluster": _azure_managed_cluster,
}

CLUSTER_TYPES = (
    "eks:index:Cluster",
    "aws:eks/cluster:Cluster",
    "gcp:container/cluster:Cluster",
    "azure-native:containerservice:ManagedCluster",
)
