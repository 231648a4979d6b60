"""The spot, tagging and cost policies of the mlplatform pack, asked over the analyzer protocol.

What users rely on: a GPU pool on demand is refused unless it is the marked fallback that idles
at zero, on every pool shape of the three clouds; a spot GPU pool has such a fallback for its
accelerator in its own cluster; every taggable resource carries the required tags, from itself
or its provider; and oversized or overpriced GPU pools are warned about, more loudly if asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from preflight.policy_packs import RunningPolicyPack
from preflight.policy_report import Violation
from tests.policy_helpers import REQUIRED_TAGS, analyze, aws_provider, azure_provider, gcp_provider, policies, resource

Resource = dict[str, Any]
FALLBACK_LABEL = "mlplatform.io/fallback"
AWS, GCP, AZURE = aws_provider(), gcp_provider(), azure_provider()
PROVIDERS = {"aws": AWS, "gcp": GCP, "azure": AZURE}
CLOUDS = tuple(PROVIDERS)

# Machine types per cloud, as the platform's machine catalog offers them.
T4 = {"aws": "g4dn.xlarge", "gcp": "n1-standard-4", "azure": "Standard_NC4as_T4_v3"}
T4_LARGER = {"aws": "g4dn.2xlarge", "gcp": "n1-standard-8", "azure": "Standard_NC8as_T4_v3"}
OTHER_GPU = {"aws": "g6.xlarge", "gcp": "g2-standard-4", "azure": "Standard_NV36ads_A10_v5"}
CPU = {"aws": "m6i.large", "gcp": "e2-standard-4", "azure": "Standard_D4ds_v5"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
AWS_SUBNETS = ["subnet-fbb790af11428937d", "subnet-ae61be557da3cc2cb", "subnet-ddf13d7279c49b453"]
NODE_ROLE = "arn:aws:iam::123456789012:role/aws-eu-west-1-nodes-3df86db"
RESOURCE_GROUP = "azure-swedencentral-rg-92025b8"


@dataclass(frozen=True)
class Pool:
    """What a node pool declares, rendered below in each pool shape's own inputs."""

    name: str
    spot: bool = True
    gpu: bool = True
    fallback: bool = False
    min_nodes: int = 0
    max_nodes: int = 4
    machine: str | None = None  # default: the cloud's T4 machine (GPU) or system machine (CPU)
    fallback_label: str = FALLBACK_LABEL

    def machine_of(self, cloud: str) -> str:
        return self.machine or (T4 if self.gpu else CPU)[cloud]

    def labels(self) -> dict[str, str]:
        labels = {
            "mlplatform.io/role": "gpu" if self.gpu else "system",
            "mlplatform.io/capacity": "spot" if self.spot else "on-demand",
            "mlplatform.io/pool": self.name,
        }
        return {**labels, self.fallback_label: "true"} if self.fallback else labels


# --- clusters ---------------------------------------------------------------------------------


def eks_cluster(name: str = "aws-eu-west-1-eks") -> Resource:
    """pulumi-eks's Cluster component (no provider of its own in the plan)."""
    inputs = {"name": f"mlplatform-prod-{name}", "version": "1.33", "skipDefaultNodeGroup": True}
    return resource("eks:index:Cluster", name, {**inputs, "authenticationMode": "API", "privateSubnetIds": AWS_SUBNETS})


def aws_eks_cluster(name: str = "aws-eu-west-1-eksCluster") -> Resource:
    inputs = {"name": f"mlplatform-prod-{name}", "roleArn": NODE_ROLE, "version": "1.33"}
    return resource("aws:eks/cluster:Cluster", name, {**inputs, "vpcConfig": {"subnetIds": AWS_SUBNETS}}, provider=AWS)


def gke_cluster(name: str = "gcp-us-central1", pools: tuple[Pool, ...] = ()) -> Resource:
    """A regional GKE cluster: its pools are separate NodePools, or given, declared inline as nodePools."""
    inputs: dict[str, Any] = {"name": f"{name}-e51e203", "project": "mlplatform-prod", "location": "us-central1"}
    if pools:
        inputs["nodePools"] = [gke_pool_body(pool) for pool in pools]
    else:
        inputs.update(removeDefaultNodePool=True, initialNodeCount=1)
    return resource("gcp:container/cluster:Cluster", name, {**inputs, "minMasterVersion": "1.33"}, provider=GCP)


def aks_cluster(name: str = "azure-swedencentral", pools: tuple[Pool, ...] = ()) -> Resource:
    """An AKS cluster: its System pool, and any other pools as agentPoolProfiles."""
    system = Pool("system", spot=False, gpu=False, min_nodes=2)
    profiles = [{"name": pool.name, **aks_pool_body(pool)} for pool in (system, *pools)]
    inputs = {"resourceGroupName": RESOURCE_GROUP, "resourceName": name, "location": "swedencentral", "dnsPrefix": name}
    inputs |= {"kubernetesVersion": "1.33", "identity": {"type": "SystemAssigned"}, "agentPoolProfiles": profiles}
    return resource(
        "azure-native:containerservice:ManagedCluster", name, {**inputs, "tags": REQUIRED_TAGS}, provider=AZURE
    )


# --- pools, in each shape's real inputs ---------------------------------------------------------


def aws_managed_body(pool: Pool) -> dict[str, Any]:
    """The inputs an EKS managed node group (pulumi-eks's component and aws's NodeGroup) shares."""
    return {
        "amiType": "AL2023_x86_64_NVIDIA" if pool.gpu else "AL2023_x86_64_STANDARD",
        "capacityType": "SPOT" if pool.spot else "ON_DEMAND",
        "instanceTypes": [pool.machine_of("aws")],
        "labels": pool.labels(),
        "nodeGroupName": f"{pool.name}-cb578238",
        "nodeRoleArn": NODE_ROLE,
        "scalingConfig": {"desiredSize": pool.min_nodes, "minSize": pool.min_nodes, "maxSize": pool.max_nodes},
        "subnetIds": AWS_SUBNETS,
        "taints": [GPU_TAINT] if pool.gpu else [],
    }


def managed_node_group(pool: Pool, cluster: Resource) -> Resource:
    """As in the real plan: the cluster arrives as its URN in the `cluster` input."""
    inputs = {**aws_managed_body(pool), "cluster": cluster["urn"], "diskSize": 100}
    return resource("eks:index:ManagedNodeGroup", f"{cluster['name']}-{pool.name}", inputs)


def aws_node_group(pool: Pool, cluster: Resource) -> Resource:
    inputs = {**aws_managed_body(pool), "clusterName": cluster["inputs"]["name"]}
    name = f"{cluster['name']}-{pool.name}"
    return resource("aws:eks/nodeGroup:NodeGroup", name, inputs, provider=AWS, dependencies=[cluster])


def node_group_v2(pool: Pool, cluster: Resource) -> Resource:
    """pulumi-eks's self-managed group: spot when it bids a spotPrice."""
    inputs: dict[str, Any] = {
        "cluster": cluster["urn"],
        "instanceType": pool.machine_of("aws"),
        "desiredCapacity": pool.min_nodes,
        "minSize": pool.min_nodes,
        "maxSize": pool.max_nodes,
        "labels": pool.labels(),
        "nodeSubnetIds": AWS_SUBNETS,
    }
    if pool.gpu:
        inputs |= {"gpu": True, "taints": {"nvidia.com/gpu": {"value": "present", "effect": "NoSchedule"}}}
    if pool.spot:
        inputs["spotPrice"] = "0.50"
    return resource("eks:index:NodeGroupV2", pool.name, inputs)


def gke_pool_body(pool: Pool, spot_field: str = "spot") -> dict[str, Any]:
    """A GKE pool (NodePool inputs, or one of a Cluster's nodePools); spot_field: 'spot' or 'preemptible'."""
    machine = pool.machine_of("gcp")
    config: dict[str, Any] = {
        "machineType": machine,
        "labels": pool.labels(),
        spot_field: pool.spot,
        "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "serviceAccount": "gcp-us-central1-nodes-f827ca@mlplatform-prod.iam.gserviceaccount.com",
    }
    if pool.gpu:
        config["taints"] = [GPU_TAINT]
    if pool.gpu and machine.startswith("n1-"):  # N1 takes its GPU as a guest accelerator; G2/A3 come with theirs
        driver = {"gpuDriverVersion": "DEFAULT"}
        config["guestAccelerators"] = [{"type": "nvidia-tesla-t4", "count": 1, "gpuDriverInstallationConfig": driver}]
    scaling = {"locationPolicy": "ANY" if pool.spot else "BALANCED"}
    scaling |= {"totalMinNodeCount": pool.min_nodes, "totalMaxNodeCount": pool.max_nodes}
    return {"name": pool.name, "initialNodeCount": pool.min_nodes, "autoscaling": scaling, "nodeConfig": config}


def gke_node_pool(pool: Pool, cluster: Resource, spot_field: str = "spot") -> Resource:
    location = {"cluster": cluster["inputs"]["name"], "location": "us-central1", "project": "mlplatform-prod"}
    inputs = {**gke_pool_body(pool, spot_field), **location}
    name = f"{cluster['name']}-{pool.name}"
    return resource("gcp:container/nodePool:NodePool", name, inputs, provider=GCP, dependencies=[cluster])


def aks_pool_body(pool: Pool) -> dict[str, Any]:
    """An AKS pool (AgentPool inputs, or one of a ManagedCluster's agentPoolProfiles)."""
    body: dict[str, Any] = {
        "vmSize": pool.machine_of("azure"),
        "mode": "User" if pool.gpu else "System",
        "enableAutoScaling": True,
        "count": pool.min_nodes,
        "minCount": pool.min_nodes,
        "maxCount": pool.max_nodes,
        "nodeLabels": pool.labels(),
        "availabilityZones": ["1", "2", "3"],
        "osType": "Linux",
        "type": "VirtualMachineScaleSets",
        "scaleSetPriority": "Spot" if pool.spot else "Regular",
    }
    if pool.gpu:
        body["nodeTaints"] = ["nvidia.com/gpu=present:NoSchedule"]
    if pool.spot:
        body |= {"scaleSetEvictionPolicy": "Delete", "spotMaxPrice": -1}
    return body


def agent_pool(pool: Pool, cluster: Resource) -> Resource:
    inputs = {**aks_pool_body(pool), "agentPoolName": pool.name, "tags": REQUIRED_TAGS}
    inputs |= {"resourceGroupName": RESOURCE_GROUP, "resourceName": cluster["inputs"]["resourceName"]}
    name = f"{cluster['name']}-{pool.name}"
    return resource("azure-native:containerservice:AgentPool", name, inputs, provider=AZURE, dependencies=[cluster])


def g2_preemptible(pool: Pool, cluster: Resource) -> Resource:
    """A GKE pool on G2 (its L4 comes with the machine, no guestAccelerators), preemptible rather than spot."""
    machine = pool.machine or ("g2-standard-4" if pool.gpu else None)
    return gke_node_pool(replace(pool, machine=machine), cluster, spot_field="preemptible")


# Every shape a pool is declared in: a graph whose last resource is the one that declares the pool.
SHAPES: dict[str, Callable[[Pool], list[Resource]]] = {
    "eks-ManagedNodeGroup": lambda pool: [cluster := eks_cluster(), managed_node_group(pool, cluster)],
    "aws-eks-NodeGroup": lambda pool: [AWS, cluster := aws_eks_cluster(), aws_node_group(pool, cluster)],
    "eks-NodeGroupV2-spotPrice": lambda pool: [cluster := eks_cluster(), node_group_v2(pool, cluster)],
    "gcp-NodePool-n1-t4-spot": lambda pool: [GCP, cluster := gke_cluster(), gke_node_pool(pool, cluster)],
    "gcp-NodePool-g2-preemptible": lambda pool: [GCP, cluster := gke_cluster(), g2_preemptible(pool, cluster)],
    "gcp-Cluster-nodePools": lambda pool: [GCP, gke_cluster(pools=(pool,))],
    "azure-AgentPool": lambda pool: [AZURE, cluster := aks_cluster(), agent_pool(pool, cluster)],
    "azure-ManagedCluster-agentPoolProfiles": lambda pool: [AZURE, aks_cluster(pools=(pool,))],
}


def found(violations: list[Violation], policy: str, about: Resource | None = None) -> list[Violation]:
    return [v for v in violations if v.policy == policy and (about is None or v.urn == about["urn"])]


# --- gpu-pools-use-spot -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("pool", "complaint"),
    [
        pytest.param(Pool("t4"), None, id="spot-gpu-passes"),
        pytest.param(Pool("t4od", spot=False, fallback=True), None, id="marked-fallback-at-zero-passes"),
        pytest.param(Pool("t4od", spot=False), "is on-demand: make it spot", id="on-demand-unmarked-violates"),
        pytest.param(
            Pool("t4od", spot=False, fallback=True, min_nodes=1), "has min size 1", id="fallback-min-1-violates"
        ),
        pytest.param(Pool("system", spot=False, gpu=False, min_nodes=2), None, id="cpu-system-on-demand-passes"),
    ],
)
def test_gpu_pools_use_spot(policy_pack: RunningPolicyPack, shape: str, pool: Pool, complaint: str | None) -> None:
    """On-demand GPU capacity is refused unless it is the marked fallback that scales to zero."""
    *_, subject = graph = SHAPES[shape](pool)
    violations = analyze(policy_pack, *graph)
    if complaint is None:
        assert "gpu-pools-use-spot" not in policies(violations, about=subject)
        return
    [violation] = found(violations, "gpu-pools-use-spot", about=subject)
    assert violation.level == "mandatory"
    assert complaint in violation.message and pool.name in violation.message


@pytest.mark.parametrize("shape", SHAPES)
def test_fallback_label_is_configurable(policy_pack: RunningPolicyPack, shape: str) -> None:
    """With fallbackLabel set, that label marks the fallback and the default one no longer does."""
    label = "example.com/on-demand-fallback"
    config = {name: {"fallbackLabel": label} for name in ("gpu-pools-use-spot", "spot-gpu-pools-have-fallback")}
    *_, marked = SHAPES[shape](Pool("t4od", spot=False, fallback=True, fallback_label=label))
    *_, default = graph = SHAPES[shape](Pool("t4od", spot=False, fallback=True))
    assert not found(analyze(policy_pack, *graph[:-1], marked, config=config), "gpu-pools-use-spot")
    [violation] = found(analyze(policy_pack, *graph[:-1], default, config=config), "gpu-pools-use-spot")
    assert violation.urn == default["urn"] and f"{label}=true" in violation.message


# --- spot-gpu-pools-have-fallback ---------------------------------------------------------------

CLUSTERS: dict[str, tuple[Callable[[str], Resource], Callable[[Pool, Resource], Resource]]] = {
    "aws": (eks_cluster, managed_node_group),
    "gcp": (gke_cluster, gke_node_pool),
    "azure": (aks_cluster, agent_pool),
}


def spot_t4_with(cloud: str, fallback: str) -> tuple[list[Resource], Resource]:
    """Two clusters, a spot T4 pool in the first, and its fallback: one of same-cluster, larger-t4 (same GPU,
    larger machine), none, other-gpu, other-cluster."""
    make_cluster, make_pool = CLUSTERS[cloud]
    home, away = make_cluster(f"{cloud}-home"), make_cluster(f"{cloud}-away")
    spot = make_pool(Pool("t4"), home)
    graph = [PROVIDERS[cloud], home, away, spot]
    if fallback == "same-cluster":
        graph.append(make_pool(Pool("t4od", spot=False, fallback=True), home))
    elif fallback == "larger-t4":
        graph.append(make_pool(Pool("t4od", spot=False, fallback=True, machine=T4_LARGER[cloud]), home))
    elif fallback == "other-gpu":
        graph.append(make_pool(Pool("l4od", spot=False, fallback=True, machine=OTHER_GPU[cloud]), home))
    elif fallback == "other-cluster":
        graph.append(make_pool(Pool("t4od", spot=False, fallback=True), away))
    return graph, spot


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(
    ("fallback", "violates"),
    [
        pytest.param("same-cluster", False, id="t4-fallback-in-same-cluster-passes"),
        pytest.param("larger-t4", False, id="fallback-of-same-gpu-larger-size-passes"),
        pytest.param("none", True, id="no-fallback-violates"),
        pytest.param("other-gpu", True, id="fallback-of-other-gpu-does-not-count"),
        pytest.param("other-cluster", True, id="fallback-in-other-cluster-does-not-count"),
    ],
)
def test_spot_pools_have_fallback(policy_pack: RunningPolicyPack, cloud: str, fallback: str, violates: bool) -> None:
    """A spot GPU pool needs an on-demand fallback of its accelerator in its own cluster; it is the one named."""
    graph, spot = spot_t4_with(cloud, fallback)
    violations = found(analyze(policy_pack, *graph), "spot-gpu-pools-have-fallback")
    if not violates:
        assert violations == []
        return
    assert [(v.urn, v.level) for v in violations] == [(spot["urn"], "mandatory")]
    assert "t4" in violations[0].message and "no on-demand fallback" in violations[0].message


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_inline_spot_pool_finds_fallback_in_same_cluster_resource(policy_pack: RunningPolicyPack, cloud: str) -> None:
    """Pools declared inside the cluster resource count together; alone, the spot one is reported on the cluster."""
    spot, fallback = Pool("t4"), Pool("t4od", spot=False, fallback=True)
    make = gke_cluster if cloud == "gcp" else aks_cluster
    assert not found(
        analyze(policy_pack, PROVIDERS[cloud], make(pools=(spot, fallback))), "spot-gpu-pools-have-fallback"
    )
    alone = make(pools=(spot,))
    [violation] = found(analyze(policy_pack, PROVIDERS[cloud], alone), "spot-gpu-pools-have-fallback")
    assert violation.urn == alone["urn"]


def test_g2_pools_agree_on_their_l4_whether_or_not_guest_accelerators_say_so(policy_pack: RunningPolicyPack) -> None:
    """A G2 machine brings its L4: a spot pool that lists it in guestAccelerators and a fallback that does not match."""
    cluster = gke_cluster()
    spot = gke_node_pool(Pool("l4", machine="g2-standard-8"), cluster)
    spot["inputs"]["nodeConfig"]["guestAccelerators"] = [{"type": "nvidia-l4", "count": 1}]
    fallback = gke_node_pool(Pool("l4od", spot=False, fallback=True, machine="g2-standard-4"), cluster)
    assert not found(analyze(policy_pack, GCP, cluster, spot, fallback), "spot-gpu-pools-have-fallback")


# --- required-tags ------------------------------------------------------------------------------

WITHOUT_COST_CENTER = {key: value for key, value in REQUIRED_TAGS.items() if key != "cost-center"}


def s3_bucket(provider_tags: dict[str, str] | None = None, tags: dict[str, str] | None = None) -> list[Resource]:
    provider = aws_provider(provider_tags, name="aws-models")
    inputs = {"forceDestroy": False} if tags is None else {"forceDestroy": False, "tags": tags}
    return [provider, resource("aws:s3/bucket:Bucket", "models", inputs, provider=provider)]


def gcs_bucket(provider_labels: dict[str, str] | None = None) -> list[Resource]:
    provider = gcp_provider(provider_labels, name="gcp-models")
    inputs = {"location": "US-CENTRAL1", "project": "mlplatform-prod", "uniformBucketLevelAccess": True}
    return [provider, resource("gcp:storage/bucket:Bucket", "models", inputs, provider=provider)]


def cloud_sql(user_labels: dict[str, str] | None = None) -> list[Resource]:
    """A Cloud SQL server under a provider whose default labels are complete: they do not reach it."""
    provider = gcp_provider(name="gcp-metadata")
    settings: dict[str, Any] = {"tier": "db-custom-2-7680", "deletionProtectionEnabled": True}
    if user_labels is not None:
        settings["userLabels"] = user_labels
    inputs = {"databaseVersion": "POSTGRES_16", "project": "mlplatform-prod", "settings": settings}
    return [provider, resource("gcp:sql/databaseInstance:DatabaseInstance", "metadata", inputs, provider=provider)]


def storage_account(tags: dict[str, str]) -> list[Resource]:
    inputs = {"accountName": "modelsodv3lm1gayz8", "kind": "StorageV2", "resourceGroupName": RESOURCE_GROUP}
    inputs |= {"sku": {"name": "Standard_ZRS"}, "location": "swedencentral", "tags": tags}
    return [AZURE, resource("azure-native:storage:StorageAccount", "models", inputs, provider=AZURE)]


def role_policy() -> list[Resource]:
    """A RolePolicy takes no tags: not checked even under a provider without default tags."""
    provider = aws_provider({}, name="aws-untagged")
    policy = '{"Version": "2012-10-17", "Statement": []}'
    inputs = {"role": "aws-eu-west-1-nodes-3df86db", "policy": policy}
    return [provider, resource("aws:iam/rolePolicy:RolePolicy", "nodes", inputs, provider=provider)]


def blob_container() -> list[Resource]:
    inputs = {"accountName": "modelsodv3lm1gayz8", "containerName": "models", "resourceGroupName": RESOURCE_GROUP}
    return [
        AZURE,
        resource("azure-native:storage:BlobContainer", "models", {**inputs, "publicAccess": "None"}, provider=AZURE),
    ]


@pytest.mark.parametrize(
    ("graph", "missing"),
    [
        pytest.param(s3_bucket(), None, id="aws-provider-defaultTags-pass"),
        pytest.param(s3_bucket(WITHOUT_COST_CENTER), "tags: cost-center", id="aws-provider-lacking-cost-center"),
        pytest.param(s3_bucket(tags={"cost-center": ""}), "tags: cost-center", id="aws-own-empty-value-violates"),
        pytest.param(s3_bucket(WITHOUT_COST_CENTER, {"cost-center": "ml-serving"}), None, id="aws-own-tags-fill-gap"),
        pytest.param(gcs_bucket(), None, id="gcp-provider-defaultLabels-pass"),
        pytest.param(gcs_bucket({}), "labels: project, environment", id="gcp-no-labels-violates"),
        pytest.param(cloud_sql(), "labels: project, environment", id="gcp-cloud-sql-provider-labels-do-not-reach"),
        pytest.param(cloud_sql(REQUIRED_TAGS), None, id="gcp-cloud-sql-own-user-labels-pass"),
        pytest.param(storage_account(REQUIRED_TAGS), None, id="azure-own-tags-pass"),
        pytest.param(storage_account(WITHOUT_COST_CENTER), "tags: cost-center", id="azure-lacking-cost-center"),
        pytest.param(role_policy(), None, id="aws-untaggable-RolePolicy-not-checked"),
        pytest.param(blob_container(), None, id="azure-untaggable-BlobContainer-not-checked"),
        pytest.param([eks_cluster()], None, id="component-eks-Cluster-not-checked"),
    ],
)
def test_required_tags(policy_pack: RunningPolicyPack, graph: list[Resource], missing: str | None) -> None:
    """Taggable resources carry every required tag with a value, their own or their provider's defaults."""
    *_, subject = graph
    violations = analyze(policy_pack, *graph)
    if missing is None:
        assert "required-tags" not in policies(violations, about=subject)
        return
    [violation] = found(violations, "required-tags", about=subject)
    assert violation.level == "mandatory" and f"missing or empty required {missing}" in violation.message


def test_required_tags_are_configurable(policy_pack: RunningPolicyPack) -> None:
    """requiredTags replaces the default keys."""
    config = {"required-tags": {"requiredTags": ["team"]}}
    *_, tagged = graph = s3_bucket()
    [violation] = found(analyze(policy_pack, *graph, config=config), "required-tags", about=tagged)
    assert "tags: team " in violation.message
    assert not found(analyze(policy_pack, *s3_bucket({"team": "ml-platform"}), config=config), "required-tags")


# --- cost guardrails ----------------------------------------------------------------------------


def gpu_pool_graph(cloud: str, pool: Pool) -> list[Resource]:
    make_cluster, make_pool = CLUSTERS[cloud]
    cluster = make_cluster(f"{cloud}-home")
    return [PROVIDERS[cloud], cluster, make_pool(pool, cluster)]


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(
    ("max_nodes", "config", "limit"),
    [
        pytest.param(16, {}, None, id="16-nodes-pass"),
        pytest.param(17, {}, 16, id="17-nodes-violate"),
        pytest.param(6, {"gpu-pool-max-nodes": {"maxNodesPerPool": 4}}, 4, id="config-limit-4-6-nodes-violate"),
        pytest.param(17, {"gpu-pool-max-nodes": {"maxNodesPerPool": 32}}, None, id="config-limit-32-17-nodes-pass"),
    ],
)
def test_gpu_pool_max_nodes(
    policy_pack: RunningPolicyPack, cloud: str, max_nodes: int, config: dict[str, Any], limit: int | None
) -> None:
    """A GPU pool that can grow past the per-pool limit is warned about."""
    *_, subject = graph = gpu_pool_graph(cloud, Pool("t4", max_nodes=max_nodes))
    violations = found(analyze(policy_pack, *graph, config=config), "gpu-pool-max-nodes", about=subject)
    if limit is None:
        assert violations == []
        return
    assert [v.level for v in violations] == ["advisory"]
    assert f"can grow to {max_nodes} nodes; the limit is {limit}" in violations[0].message


ZONES = ["us-central1-a", "us-central1-b", "us-central1-c"]


def per_zone(pool: Resource, counts: dict[str, Any]) -> Resource:
    """A GKE pool (a NodePool, or a Cluster's one inline pool) sized per zone instead of in total."""
    body = dict(counts)
    autoscaling = {key: body.pop(key) for key in ("minNodeCount", "maxNodeCount") if key in body}

    def resize(spec: dict[str, Any]) -> dict[str, Any]:
        spec = {key: value for key, value in spec.items() if key != "autoscaling"}
        return {**spec, **body, **({"autoscaling": autoscaling} if autoscaling else {})}

    inputs = pool["inputs"]
    if "nodePools" in inputs:
        return {**pool, "inputs": {**inputs, "nodePools": [resize(inputs["nodePools"][0])]}}
    return {**pool, "inputs": resize(inputs)}


@pytest.mark.parametrize(
    ("counts", "violates"),
    [
        pytest.param({"minNodeCount": 0, "maxNodeCount": 6}, True, id="regional-6-per-zone-is-18-violates"),
        pytest.param({"minNodeCount": 0, "maxNodeCount": 5}, False, id="regional-5-per-zone-is-15-passes"),
        pytest.param({"maxNodeCount": 16, "nodeLocations": ZONES[:1]}, False, id="one-zone-16-passes"),
        pytest.param({"nodeCount": 6, "nodeLocations": ZONES}, True, id="fixed-6-in-3-zones-is-18-violates"),
    ],
)
@pytest.mark.parametrize("shape", ["gcp-NodePool-n1-t4-spot", "gcp-Cluster-nodePools"])
def test_gke_pool_size_counts_every_zone(
    policy_pack: RunningPolicyPack, shape: str, counts: dict[str, Any], violates: bool
) -> None:
    """GKE's per-zone node counts are multiplied by the pool's zones (a regional cluster's default three)."""
    *rest, pool = SHAPES[shape](Pool("t4"))
    subject = per_zone(pool, counts)
    violations = found(analyze(policy_pack, *rest, subject), "gpu-pool-max-nodes", about=subject)
    assert bool(violations) == violates


@pytest.mark.parametrize(
    ("sizes", "config", "message"),
    [
        pytest.param((16, 16, 16, 16), {}, None, id="64-nodes-pass"),
        pytest.param(
            (16, 16, 16, 16, 1), {}, "5 GPU pools can grow to 65 GPU nodes in all; the limit is 64", id="65-violate"
        ),
        pytest.param(
            (4, 4, 4), {"gpu-nodes-per-stack": {"maxGpuNodesPerStack": 10}}, "the limit is 10", id="config-10"
        ),
    ],
)
def test_gpu_nodes_per_stack(
    policy_pack: RunningPolicyPack, sizes: tuple[int, ...], config: dict[str, Any], message: str | None
) -> None:
    """All GPU pools of a stack, on every cloud, together stay under the stack limit; CPU pools do not count."""
    graph = [AWS, GCP, AZURE, aws := eks_cluster(), gcp := gke_cluster(), azure := aks_cluster()]
    pools = [(CLUSTERS[cloud][1], cluster) for cloud, cluster in zip(CLOUDS, (aws, gcp, azure), strict=True)]
    for index, size in enumerate(sizes):
        make_pool, cluster = pools[index % 3]
        graph.append(make_pool(Pool(f"t4-{index}", max_nodes=size), cluster))
    graph.append(managed_node_group(Pool("system", spot=False, gpu=False, min_nodes=2, max_nodes=100), aws))
    violations = found(analyze(policy_pack, *graph, config=config), "gpu-nodes-per-stack")
    if message is None:
        assert violations == []
        return
    assert [v.level for v in violations] == ["advisory"]
    assert message in violations[0].message


@pytest.mark.parametrize(
    ("cloud", "machine", "allowed"),
    [
        pytest.param("aws", "g4dn.xlarge", True, id="aws-g4dn-passes"),
        pytest.param("aws", "g6.xlarge", True, id="aws-g6-passes"),
        pytest.param("aws", "p5.48xlarge", False, id="aws-p5-violates"),
        pytest.param("gcp", "n1-standard-4", True, id="gcp-n1-t4-passes"),
        pytest.param("gcp", "g2-standard-4", True, id="gcp-g2-passes"),
        pytest.param("gcp", "a3-highgpu-8g", False, id="gcp-a3-violates"),
        pytest.param("azure", "Standard_NC4as_T4_v3", True, id="azure-t4-passes"),
        pytest.param("azure", "Standard_NC40ads_H100_v5", False, id="azure-h100-violates"),
    ],
)
def test_gpu_machine_types_allowed(policy_pack: RunningPolicyPack, cloud: str, machine: str, allowed: bool) -> None:
    """GPU pools outside the catalog's inference families (A100/H100 machines) are warned about."""
    *_, subject = graph = gpu_pool_graph(cloud, Pool("gpu", machine=machine))
    violations = found(analyze(policy_pack, *graph), "gpu-machine-types-allowed", about=subject)
    if allowed:
        assert violations == []
        return
    assert [v.level for v in violations] == ["advisory"]
    assert f"uses {machine}, outside the allowed {cloud} machine types" in violations[0].message


@pytest.mark.parametrize(
    ("cloud", "now_allowed", "now_refused"),
    [
        pytest.param("aws", "p5.48xlarge", "g4dn.xlarge", id="aws"),
        pytest.param("gcp", "a3-highgpu-8g", "g2-standard-4", id="gcp"),
        pytest.param("azure", "Standard_NC40ads_H100_v5", "Standard_NC4as_T4_v3", id="azure"),
    ],
)
def test_allowed_machine_types_are_configurable_per_cloud(
    policy_pack: RunningPolicyPack, cloud: str, now_allowed: str, now_refused: str
) -> None:
    """allowedMachineTypes replaces one cloud's patterns; the other clouds keep their defaults."""
    config = {"gpu-machine-types-allowed": {"allowedMachineTypes": {cloud: [now_allowed]}}}
    provider, cluster, allowed = gpu_pool_graph(cloud, Pool("allowed", machine=now_allowed))
    refused = CLUSTERS[cloud][1](Pool("refused", machine=now_refused), cluster)
    other = "gcp" if cloud != "gcp" else "aws"
    graph = [provider, cluster, allowed, refused, *gpu_pool_graph(other, Pool("t4"))]
    violations = found(analyze(policy_pack, *graph, config=config), "gpu-machine-types-allowed")
    assert [v.urn for v in violations] == [refused["urn"]]
    assert f"({now_allowed})" in violations[0].message


def test_enforcement_levels_are_configurable(policy_pack: RunningPolicyPack) -> None:
    """A policy can be made mandatory; 'all: disabled' silences every policy."""
    *_, oversized = graph = gpu_pool_graph("aws", Pool("t4", max_nodes=17))
    [violation] = found(analyze(policy_pack, *graph, config={"gpu-pool-max-nodes": "mandatory"}), "gpu-pool-max-nodes")
    assert violation.level == "mandatory" and violation.urn == oversized["urn"]
    everything_wrong = [
        *graph[:-1],
        managed_node_group(Pool("h100", spot=False, machine="p5.48xlarge", max_nodes=99), graph[1]),
    ]
    everything_wrong += s3_bucket({})
    cost_and_spot = {"gpu-pools-use-spot", "gpu-pool-max-nodes", "gpu-nodes-per-stack", "gpu-machine-types-allowed"}
    assert policies(analyze(policy_pack, *everything_wrong)) >= {*cost_and_spot, "required-tags"}
    assert analyze(policy_pack, *everything_wrong, config={"all": "disabled"}) == []
