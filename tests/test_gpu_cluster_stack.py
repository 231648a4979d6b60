"""GpuCluster in the shipped stacks: one per target, spot GPU pools, each with its on-demand fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from components.scheduling import LABEL_ACCELERATOR, LABEL_FALLBACK, LABEL_POOL, LABEL_ROLE
from preflight.plan import Plan, PlannedResource
from tests.helpers import every


@dataclass(frozen=True)
class NodePool:
    """A node pool as the plan shows it, whatever the cloud calls it."""

    target: str
    labels: dict[str, str]
    spot: bool
    min_nodes: int
    max_nodes: int

    @property
    def gpu(self) -> bool:
        return self.labels.get(LABEL_ROLE) == "gpu"

    @property
    def fallback(self) -> bool:
        return self.labels.get(LABEL_FALLBACK) == "true"


def _aws(inputs: dict[str, Any]) -> tuple[dict[str, str], bool, int, int]:
    scaling = inputs["scalingConfig"]
    return inputs["labels"], inputs["capacityType"] == "SPOT", scaling["minSize"], scaling["maxSize"]


def _gcp(inputs: dict[str, Any]) -> tuple[dict[str, str], bool, int, int]:
    node, scaling = inputs["nodeConfig"], inputs["autoscaling"]
    return node["labels"], node.get("spot", False), scaling["totalMinNodeCount"], scaling["totalMaxNodeCount"]


def _azure(inputs: dict[str, Any]) -> tuple[dict[str, str], bool, int, int]:
    return inputs["nodeLabels"], inputs["scaleSetPriority"] == "Spot", inputs["minCount"], inputs["maxCount"]


READERS = {
    "eks:index:ManagedNodeGroup": _aws,
    "gcp:container/nodePool:NodePool": _gcp,
    "azure-native:containerservice:AgentPool": _azure,
}


def node_pools(plan: Plan) -> list[NodePool]:
    pools = []
    for resource in plan.resources:
        reader = READERS.get(resource.type)
        if reader is not None:
            labels, spot, low, high = reader(resource.inputs)
            pools.append(NodePool(plan.target_of(resource) or "", labels, spot, low, high))
    return pools


def clusters(plan: Plan) -> list[PlannedResource]:
    return plan.of_type("mlplatform:compute:GpuCluster")


def test_one_gpu_cluster_per_target(stack_plan: Plan) -> None:
    targets = sorted(r.name for r in stack_plan.of_type("mlplatform:platform:Footprint"))
    assert sorted(stack_plan.target_of(c) or "" for c in clusters(stack_plan)) == targets
    assert sorted(stack_plan.outputs["clusters"]) == targets


def test_gpu_pools_are_spot_and_only_fallbacks_are_on_demand_from_zero(stack_plan: Plan) -> None:
    gpu = [pool for pool in node_pools(stack_plan) if pool.gpu]
    assert {pool.target for pool in gpu} == set(stack_plan.outputs["targets"])
    for pool in gpu:
        assert pool.spot != pool.fallback, pool
        if pool.fallback:
            assert pool.min_nodes == 0, pool


def test_every_spot_pool_has_a_fallback_for_its_accelerator(stack_plan: Plan) -> None:
    gpu = [pool for pool in node_pools(stack_plan) if pool.gpu]
    for pool in (p for p in gpu if p.spot):
        assert any(
            other.fallback
            and other.target == pool.target
            and other.labels[LABEL_ACCELERATOR] == pool.labels[LABEL_ACCELERATOR]
            for other in gpu
        ), pool


def test_system_pools_are_on_demand_unless_dev_chooses_spot(stack_plan: Plan) -> None:
    """Prod's add-ons stay on on-demand nodes; dev's EKS and GKE system pools are spot, as Pulumi.dev.yaml's
    mlplatform:costSavings.spotSystemNodes chooses (AKS system pools cannot be spot and are inline, not listed)."""
    system = [pool for pool in node_pools(stack_plan) if pool.labels.get(LABEL_ROLE) == "system"]
    spot = stack_plan.stack == "dev"
    assert system and all(pool.spot is spot for pool in system)
    assert all(pool.labels["mlplatform.io/capacity"] == ("spot" if spot else "on-demand") for pool in system)
    # AKS's system pool is inline in the ManagedCluster; EKS and GKE have one each.
    assert len(system) == sum(1 for t in stack_plan.outputs["targets"].values() if t["cloud"] != "azure")


@pytest.mark.parametrize(
    ("target", "pools"),
    [
        # Serving's pools, then training's (trainingPools: t4t on one region per cloud, l4t on GCP).
        ("aws-us-east-1", {"t4", "t4od", "l4", "l4od", "t4t", "t4tod"}),
        ("aws-eu-west-1", {"t4", "t4od"}),  # prod's l4 pools leave it out: eu-west-1 has no G6
        ("gcp-us-central1", {"t4", "t4od", "l4", "l4od", "t4t", "t4tod", "l4t", "l4tod"}),
        ("azure-swedencentral", {"t4", "t4od", "a10", "a10od", "t4t", "t4tod"}),
    ],
)
def test_prod_pools_follow_each_pools_clouds_and_targets(prod_plan: Plan, target: str, pools: set[str]) -> None:
    found = {pool.labels[LABEL_POOL] for pool in node_pools(prod_plan) if pool.gpu and pool.target == target}
    assert found == pools


def test_kubeconfigs_are_secret(stack_plan: Plan) -> None:
    assert set(stack_plan.outputs["kubeconfigs"].values()) == {"[secret]"}


def test_prod_clusters_are_protected_and_dev_clusters_are_not(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan, protected in ((dev_plan, False), (prod_plan, True)):
        gke = plan.of_type("gcp:container/cluster:Cluster")
        aks = plan.of_type("azure-native:containerservice:ManagedCluster")
        assert [c.inputs["deletionProtection"] for c in gke] == [protected]
        assert [c.inputs["sku"]["tier"] for c in aks] == ["Standard" if protected else "Free"]
        assert [c.inputs.get("disableLocalAccounts", False) for c in aks] == [protected]


def test_prod_api_endpoints_are_limited_to_the_configured_cidrs(prod_plan: Plan) -> None:
    cidrs = ["203.0.113.0/24", "198.51.100.0/24"]
    for cluster in every(prod_plan, "eks:index:Cluster"):
        assert cluster.inputs["publicAccessCidrs"] == cidrs
    for cluster in every(prod_plan, "gcp:container/cluster:Cluster"):
        blocks = cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
        assert [block["cidrBlock"] for block in blocks] == cidrs
    for cluster in every(prod_plan, "azure-native:containerservice:ManagedCluster"):
        assert cluster.inputs["apiServerAccessProfile"]["authorizedIPRanges"] == cidrs


def test_target_networks_do_not_overlap(stack_plan: Plan) -> None:
    import ipaddress

    blocks = [r.inputs["cidrBlock"] for r in stack_plan.of_type("aws:ec2/vpc:Vpc")]
    blocks += [
        r.inputs["addressSpace"]["addressPrefixes"][0]
        for r in stack_plan.of_type("azure-native:network:VirtualNetwork")
    ]
    networks = [ipaddress.ip_network(block) for block in blocks]
    assert len(networks) >= 2
    for i, left in enumerate(networks):
        assert not any(left.overlaps(right) for right in networks[i + 1 :])
