"""The AKS cluster autoscaler's priority expander: grow spot pools first, on-demand fallback last.

AKS runs the cluster autoscaler itself; the cluster's autoscaler profile switches its expander
to `priority`, and the expander reads its priorities from one ConfigMap in kube-system. Each
priority lists regexes matched against node group names, and the highest matching number wins
among the pools that could fit the pending pod. On AKS a node group is the pool's VM scale
set, named `aks-<pool>-<number>-vmss` (the autoscaler's own events show e.g.
`aks-gpunp-36854149-vmss`). The regexes are anchored so that pool `t4` does not also match
its fallback `t4od`: the AKS docs' example uses the looser `.*<pool>.*`.
Sources: learn.microsoft.com/azure/aks/cluster-autoscaler-overview (priority expander
ConfigMap), learn.microsoft.com/azure/aks/autoscale-gpu-workloads-with-keda (node group name),
github.com/kubernetes/autoscaler cluster-autoscaler/expander/priority/readme.md (format).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import containerservice

from components.gpu_cluster.contract import GpuPool

CONFIGMAP_NAME = "cluster-autoscaler-priority-expander"  # fixed by the autoscaler
CONFIGMAP_NAMESPACE = "kube-system"  # where AKS runs its managed autoscaler

PRIORITY_SPOT = 50
PRIORITY_ON_DEMAND = 30  # an on-demand pool that is not a fallback
PRIORITY_FALLBACK = 10
PRIORITY_SYSTEM = 1  # listed so every node group matches; GPU pods never fit it anyway


# How long the autoscaler waits for a new node to register before it deletes it and backs the
# pool off. AKS GPU nodes install the NVIDIA driver while booting (gpuProfile.driver defaults to
# Install) and register only after: 5.4 min for a GPU scale set in AKS's own node-image tests
# (github.com/Azure/AgentBaker/pull/8797, June 2026), 5-10 min and up to 10-11 min for A100 nodes
# (learn.microsoft.com/en-us/answers/a/12767836, May 2026); read 2026-12. 15m (AKS's default) clears
# the slowest with room; 5m deleted healthy nodes that were still installing their driver.
# The cost: a spot node that launches but never registers holds its pool for 15 minutes before the
# on-demand fallback is tried. Spot pools without capacity are not affected: a failed scale-set
# write or a failed VM provisioning state backs the pool off at once (cluster-autoscaler's Azure
# provider, azure_scale_set.go).
MAX_NODE_PROVISION_TIME = "15m"  # whole minutes, "<n>m": the only form AKS accepts


def autoscaler_profile() -> containerservice.ManagedClusterPropertiesAutoScalerProfileArgsDict:
    """The profile field is `expander`; allowed values: least-waste, most-pods, priority, random.

    Source: learn.microsoft.com/azure/aks/cluster-autoscaler (cluster autoscaler profile settings).
    """
    return {"expander": containerservice.Expander.PRIORITY, "max_node_provision_time": MAX_NODE_PROVISION_TIME}


def node_group_regex(pool_name: str) -> str:
    """The names AKS gives the pool's VM scale sets, and nothing else."""
    return f"^aks-{pool_name}-[0-9]+-vmss$"


def pool_priority(pool: GpuPool) -> int:
    if pool.fallback:
        return PRIORITY_FALLBACK
    return PRIORITY_SPOT if pool.spot else PRIORITY_ON_DEMAND


def priorities(system_pool_name: str, gpu_pools: Sequence[GpuPool]) -> dict[int, list[str]]:
    """Priority -> regexes, highest first (the order a reader expects; the autoscaler ignores it)."""
    table: dict[int, list[str]] = {}
    for pool in gpu_pools:
        table.setdefault(pool_priority(pool), []).append(node_group_regex(pool.name))
    table.setdefault(PRIORITY_SYSTEM, []).append(node_group_regex(system_pool_name))
    return dict(sorted(table.items(), reverse=True))


def priorities_yaml(system_pool_name: str, gpu_pools: Sequence[GpuPool]) -> str:
    return yaml.safe_dump(priorities(system_pool_name, gpu_pools), sort_keys=False, default_flow_style=False)


def priority_expander_configmap(
    parent: pulumi.ComponentResource,
    name: str,
    provider: k8s.Provider,
    system_pool_name: str,
    gpu_pools: Sequence[GpuPool],
) -> k8s.core.v1.ConfigMap:
    """Applied through the cluster's own Kubernetes provider (not the Azure one)."""
    return k8s.core.v1.ConfigMap(
        f"{name}-priority-expander",
        metadata={"name": CONFIGMAP_NAME, "namespace": CONFIGMAP_NAMESPACE},
        data={"priorities": priorities_yaml(system_pool_name, gpu_pools)},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
