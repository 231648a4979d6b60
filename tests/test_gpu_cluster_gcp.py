"""GpuCluster on GCP: private GKE with Workload Identity and Dataplane V2, spot GPU pools first and
on-demand fallback through GKE ComputeClasses, protected in prod."""

from __future__ import annotations

import ipaddress
import json
from datetime import date, timedelta
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from components import machine_catalog
from components.gpu_cluster import GpuCluster, GpuClusterArgs, GpuPool, SystemPool, gcp_zones
from components.gpu_cluster.gcp_network import plan_ranges
from components.maintenance import MaintenanceWindow
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from stacks.regions import GCP_REGIONS
from tests.helpers import every, only, program_plan

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
COMPUTE_CLASS = "kubernetes:cloud.google.com/v1:ComputeClass"
CLASS_LABEL = "cloud.google.com/compute-class"
PROJECT = "p-12345"

DEV_POOLS = (
    GpuPool("l4-spot", "L4", ("g2-standard-8",)),
    GpuPool("l4-fallback", "L4", ("g2-standard-8",), spot=False, fallback=True),
    GpuPool("t4-spot", "T4", ("n1-standard-4",), max_nodes=3),
)
PROD_POOLS = (
    GpuPool("l4-spot", "L4", ("g2-standard-24",), max_nodes=6),
    GpuPool("l4-spot-small", "L4", ("g2-standard-8",), max_nodes=6),
    GpuPool("l4-fallback", "L4", ("g2-standard-24",), max_nodes=4, spot=False, fallback=True),
)


def cluster_plan(region: str = "us-central1", **overrides: Any) -> Plan:
    """One GpuCluster on a GCP target, through the public API, with its outputs exported."""

    def program() -> None:
        target = Target("t", "gcp", region, gcp.Provider("t", project=PROJECT), gcp_project=PROJECT)
        args: dict[str, Any] = {
            "target": target,
            "kubernetes_version": "1.33",
            "system_pool": SystemPool("e2-standard-4"),
            "gpu_pools": DEV_POOLS,
            **overrides,
        }
        cluster = GpuCluster("ml", GpuClusterArgs(**args))
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("kubeconfigText", pulumi.Output.unsecret(cluster.kubeconfig))
        pulumi.export("clusterName", cluster.cluster_name)
        pulumi.export("issuer", cluster.identity.oidc_issuer_url)
        pulumi.export("workloadPool", cluster.identity.workload_pool)
        pulumi.export("networkId", cluster.network.network_id)
        pulumi.export("subnetIds", cluster.network.private_subnet_ids)
        pulumi.export("nodeIdentity", cluster.node_identity)

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return cluster_plan(zones=2, regional=False, deletion_protection=False)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return cluster_plan(
        zones=3,
        regional=True,
        deletion_protection=True,
        control_plane_logs=True,
        api_allowed_cidrs=("203.0.113.0/24",),
        gpu_pools=PROD_POOLS,
        system_pool=SystemPool("n2-standard-4", min_nodes=3, max_nodes=6),
    )


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def cluster(plan: Plan) -> dict[str, Any]:
    return only(plan, CLUSTER).inputs


def pools(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in plan.of_type(NODE_POOL)}


def gpu_pools(plan: Plan) -> dict[str, dict[str, Any]]:
    return {name: inputs for name, inputs in pools(plan).items() if name != "system"}


def compute_classes(plan: Plan) -> dict[str, PlannedResource]:
    return {r.inputs["metadata"]["name"]: r for r in plan.of_type(COMPUTE_CLASS)}


def test_spot_everywhere_but_the_fallback_which_is_on_demand_from_zero(plan: Plan) -> None:
    for name, pool in gpu_pools(plan).items():
        fallback = "fallback" in name
        assert pool["nodeConfig"]["spot"] is (not fallback), name
        assert pool["nodeConfig"]["labels"]["mlplatform.io/capacity"] == ("on-demand" if fallback else "spot")
        if fallback:
            assert pool["nodeConfig"]["labels"]["mlplatform.io/fallback"] == "true"
            assert pool["autoscaling"]["totalMinNodeCount"] == 0
    assert pools(plan)["system"]["nodeConfig"]["spot"] is False


def test_gpu_pools_scale_from_zero_to_their_total_max(dev: Plan) -> None:
    expected = {p.name: p.max_nodes for p in DEV_POOLS}
    for name, pool in gpu_pools(dev).items():
        assert pool["initialNodeCount"] == 0
        assert pool["autoscaling"]["totalMinNodeCount"] == 0
        assert pool["autoscaling"]["totalMaxNodeCount"] == expected[name]
        assert "minNodeCount" not in pool["autoscaling"]  # totals, not per zone
    assert gpu_pools(dev)["l4-spot"]["autoscaling"]["locationPolicy"] == "ANY"


def test_gpus_are_attached_with_the_catalogued_count_and_gke_installs_the_driver(dev: Plan, prod: Plan) -> None:
    expected = [
        (dev, "l4-spot", "g2-standard-8", "nvidia-l4", 1),
        (dev, "t4-spot", "n1-standard-4", "nvidia-tesla-t4", 1),
        (prod, "l4-spot", "g2-standard-24", "nvidia-l4", 2),
    ]
    for plan, name, machine, accelerator, count in expected:
        config = gpu_pools(plan)[name]["nodeConfig"]
        assert config["machineType"] == machine
        assert config["guestAccelerators"] == [
            {"type": accelerator, "count": count, "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}
        ]


def test_gpu_nodes_are_tainted_and_labelled_for_serving_and_their_compute_class(plan: Plan) -> None:
    pools_by_name = {p.name: p for p in (*DEV_POOLS, *PROD_POOLS)}
    for name, pool in gpu_pools(plan).items():
        config = pool["nodeConfig"]
        klass = f"gpu-{pools_by_name[name].accelerator.lower()}"
        assert config["labels"] == {**pools_by_name[name].labels, CLASS_LABEL: klass}
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in config["taints"]
        assert {"key": CLASS_LABEL, "value": klass, "effect": "NO_SCHEDULE"} in config["taints"]
    system = pools(plan)["system"]["nodeConfig"]
    assert system["labels"] == {"mlplatform.io/role": "system", "mlplatform.io/capacity": "on-demand"}
    assert "taints" not in system and "guestAccelerators" not in system


def test_one_compute_class_per_accelerator_prefers_spot_pools_then_the_fallback(dev: Plan, prod: Plan) -> None:
    classes = compute_classes(dev)
    assert sorted(classes) == ["gpu-l4", "gpu-t4"]
    l4 = classes["gpu-l4"].inputs
    assert l4["apiVersion"] == "cloud.google.com/v1" and l4["kind"] == "ComputeClass"
    assert l4["spec"]["priorities"] == [{"nodepools": ["l4-spot"]}, {"nodepools": ["l4-fallback"]}]
    assert l4["spec"]["nodePoolAutoCreation"] == {"enabled": False}
    assert l4["spec"]["whenUnsatisfiable"] == "DoNotScaleUp"
    assert classes["gpu-t4"].inputs["spec"]["priorities"] == [{"nodepools": ["t4-spot"]}]
    prod_l4 = compute_classes(prod)["gpu-l4"].inputs["spec"]["priorities"]
    assert prod_l4 == [{"nodepools": ["l4-spot", "l4-spot-small"]}, {"nodepools": ["l4-fallback"]}]


def test_every_pool_a_compute_class_names_carries_its_label_and_taint(plan: Plan) -> None:
    for klass, resource in compute_classes(plan).items():
        named = [pool for tier in resource.inputs["spec"]["priorities"] for pool in tier["nodepools"]]
        for pool in named:
            config = gpu_pools(plan)[pool]["nodeConfig"]
            assert config["labels"][CLASS_LABEL] == klass
            assert {"key": CLASS_LABEL, "value": klass, "effect": "NO_SCHEDULE"} in config["taints"]


def test_compute_classes_are_applied_on_the_clusters_own_kubernetes_provider(plan: Plan) -> None:
    provider = only(plan, "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    for resource in compute_classes(plan).values():
        assert resource.provider == provider.urn
        assert {r.urn for r in plan.of_type(NODE_POOL)} <= set(resource.dependencies)


def test_nodes_are_private_and_reach_public_registries_through_cloud_nat(plan: Plan) -> None:
    inputs = cluster(plan)
    private = inputs["privateClusterConfig"]
    assert (private["enablePrivateNodes"], private["enablePrivateEndpoint"]) == (True, False)
    control_plane = ipaddress.ip_network(private["masterIpv4CidrBlock"])
    assert control_plane.prefixlen == 28
    # The control plane may call the serving add-ons' webhooks on the nodes, and nothing else is opened.
    firewall = only(plan, "gcp:compute/firewall:Firewall").inputs
    assert firewall["sourceRanges"] == [str(control_plane)]
    assert firewall["allows"] == [{"protocol": "tcp", "ports": ["15017", "9443", "6443", "8082"]}]
    node_sa = plan.of_type("gcp:container/nodePool:NodePool")[0].inputs["nodeConfig"]["serviceAccount"]
    assert firewall["targetServiceAccounts"] == [node_sa]
    router = only(plan, "gcp:compute/router:Router")
    nat_resource = only(plan, "gcp:compute/routerNat:RouterNat")
    nat = nat_resource.inputs
    assert router.urn in nat_resource.dependencies and nat["router"].startswith("ml-router-")  # its generated name
    assert router.inputs["region"] == nat["region"] == "us-central1"
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert plan.outputs["networkId"].endswith(f"/{router.inputs['network']}")  # the cluster's own VPC


def test_vpc_native_network_with_private_google_access_and_disjoint_ranges(plan: Plan) -> None:
    network = only(plan, "gcp:compute/network:Network").inputs
    subnet = only(plan, "gcp:compute/subnetwork:Subnetwork").inputs
    assert network["autoCreateSubnetworks"] is False
    assert subnet["privateIpGoogleAccess"] is True and subnet["region"] == "us-central1"
    assert subnet["ipCidrRange"] == "10.0.0.0/20"  # carved from the default network_cidr 10.0.0.0/16
    secondary = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}
    policy = cluster(plan)["ipAllocationPolicy"]
    assert set(secondary) == {policy["clusterSecondaryRangeName"], policy["servicesSecondaryRangeName"]}
    ranges = [ipaddress.IPv4Network(subnet["ipCidrRange"]), *map(ipaddress.IPv4Network, secondary.values())]
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert cluster(plan)["subnetwork"] == plan.outputs["subnetIds"][0]
    assert cluster(plan)["network"] == plan.outputs["networkId"]


def test_range_planning_keeps_pods_and_services_outside_the_network() -> None:
    ranges = plan_ranges("10.4.0.0/16")
    assert str(ranges.nodes) == "10.4.0.0/20"
    network = ipaddress.IPv4Network("10.4.0.0/16")
    assert ranges.pods.prefixlen == 14 and ranges.services.prefixlen == 20
    assert not ranges.pods.overlaps(network) and not ranges.services.overlaps(network)
    assert not ranges.pods.overlaps(ranges.services)
    with pytest.raises(ValueError, match="private"):
        plan_ranges("8.8.0.0/16")


def test_workload_identity_dataplane_v2_shielded_nodes_and_regular_channel(plan: Plan) -> None:
    inputs = cluster(plan)
    assert inputs["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert "networkPolicy" not in inputs  # Dataplane V2 enforces NetworkPolicy itself
    assert inputs["enableShieldedNodes"] is True
    assert inputs["releaseChannel"] == {"channel": "REGULAR"}
    assert inputs["minMasterVersion"] == "1.33"
    for pool in pools(plan).values():
        config = pool["nodeConfig"]
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_default_node_pool_is_removed(plan: Plan) -> None:
    inputs = cluster(plan)
    assert inputs["removeDefaultNodePool"] is True and inputs["initialNodeCount"] == 1


def test_the_temporary_default_pool_runs_as_the_nodes_own_account_granted_first(plan: Plan) -> None:
    """Not the Compute Engine default account, which organisations disable or strip of roles."""
    resource = only(plan, CLUSTER)
    account = only(plan, "gcp:serviceaccount/account:Account")
    config = resource.inputs["nodeConfig"]
    assert config["serviceAccount"] == f"{account.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
    assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    grants = {g.urn for g in plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert len(grants) == 5 and grants <= set(resource.dependencies)  # the default pool's nodes start granted


def test_gpu_pools_upgrade_without_a_surge_node_and_the_system_pool_keeps_the_default(plan: Plan) -> None:
    """One GPU node replaced at a time and none added: a surge GPU node needs quota and capacity."""
    for name, pool in gpu_pools(plan).items():
        assert pool["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}, name
    assert "upgradeSettings" not in pools(plan)["system"]


def test_maintenance_window_only_when_asked(dev: Plan) -> None:
    assert "maintenancePolicy" not in cluster(dev)
    weekend = MaintenanceWindow(days=("SU", "SA"), start_hour=2, hours=8)
    window = cluster(cluster_plan(maintenance_window=weekend))["maintenancePolicy"]["recurringWindow"]
    # 2026-01-10 is a Saturday: the first day of the week's window, 02:00 to 10:00 UTC.
    assert window == {
        "startTime": "2026-01-10T02:00:00Z",
        "endTime": "2026-01-10T10:00:00Z",
        "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
    }


@pytest.mark.parametrize(
    ("region", "pools_", "zones", "expected"),
    [
        # gpu-regions-zones (read 2026-12): L4 in us-east4 is in a and c only; T4 in a, b and c.
        ("us-east4", (GpuPool("l4", "L4", ("g2-standard-8",)),), 2, ["us-east4-a", "us-east4-c"]),
        ("us-east4", (GpuPool("t4", "T4", ("n1-standard-4",)),), 2, ["us-east4-a", "us-east4-b"]),
        # europe-west1: T4 in b, c, d and L4 in b, c: both pools fit only b and c.
        ("europe-west1", DEV_POOLS, 2, ["europe-west1-b", "europe-west1-c"]),
    ],
)
def test_node_zones_are_where_every_gpu_pool_is_offered(
    region: str, pools_: tuple[GpuPool, ...], zones: int, expected: list[str]
) -> None:
    plan = cluster_plan(region=region, gpu_pools=pools_, zones=zones, regional=True)
    assert cluster(plan)["nodeLocations"] == expected
    assert cluster(plan)["location"] == region


def test_a_region_with_too_few_gpu_zones_is_refused_naming_the_zones_it_has() -> None:
    """L4 in us-east4 is in two zones, so a three-zone cluster cannot hold an L4 pool."""
    with pytest.raises(ProgramError, match=r"L4 in us-east4-a, us-east4-c.*3 zones are needed"):
        cluster_plan(region="us-east4", gpu_pools=(GpuPool("l4", "L4", ("g2-standard-8",)),), zones=3)


def test_workload_pool_is_the_clusters_output_so_grants_to_it_wait_for_the_cluster() -> None:
    """A grant to a principal of the pool, made from the contract's output, depends on the cluster:
    the pool exists only once the cluster does."""

    def program() -> None:
        target = Target("t", "gcp", "us-central1", gcp.Provider("t", project=PROJECT), gcp_project=PROJECT)
        args = GpuClusterArgs(target, "1.33", SystemPool("e2-standard-4"), DEV_POOLS)
        identity = GpuCluster("ml", args).identity
        assert identity.workload_pool is not None
        member = identity.workload_pool.apply(lambda pool: f"principal://iam.googleapis.com/{pool}/subject/ns/x/sa/y")
        gcp.storage.BucketIAMMember("grant", bucket="models", role="roles/storage.objectViewer", member=member)

    plan = program_plan(program)
    grant = only(plan, "gcp:storage/bucketIAMMember:BucketIAMMember")
    assert f"/{PROJECT}.svc.id.goog/" in grant.inputs["member"]
    assert only(plan, CLUSTER).urn in grant.dependencies


def test_deletion_protection_is_explicit_false_in_dev_and_true_in_prod(dev: Plan, prod: Plan) -> None:
    assert cluster(dev)["deletionProtection"] is False  # the provider's default is true
    assert cluster(prod)["deletionProtection"] is True


def test_prod_is_regional_over_three_zones_and_dev_zonal_over_two(dev: Plan, prod: Plan) -> None:
    assert cluster(prod)["location"] == "us-central1"
    assert cluster(prod)["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert cluster(dev)["location"] == "us-central1-a"
    assert cluster(dev)["nodeLocations"] == ["us-central1-b"]  # the provider adds the cluster's own zone
    for plan in (dev, prod):
        assert {p["location"] for p in pools(plan).values()} == {cluster(plan)["location"]}


def test_system_pool_starts_at_its_minimum_spread_over_the_zones(prod: Plan) -> None:
    system = pools(prod)["system"]
    assert system["nodeConfig"]["machineType"] == "n2-standard-4"
    assert system["initialNodeCount"] == 1  # per zone: 3 zones x 1 = min_nodes 3
    assert system["autoscaling"]["totalMinNodeCount"] == 3 and system["autoscaling"]["totalMaxNodeCount"] == 6


def test_api_endpoint_open_in_dev_and_limited_in_prod(dev: Plan, prod: Plan) -> None:
    def cidrs(plan: Plan) -> list[str]:
        return [b["cidrBlock"] for b in cluster(plan)["masterAuthorizedNetworksConfig"]["cidrBlocks"]]

    assert cidrs(dev) == ["0.0.0.0/0"]
    assert cidrs(prod) == ["203.0.113.0/24"]


def test_control_plane_logs_only_when_asked(dev: Plan, prod: Plan) -> None:
    assert cluster(dev)["loggingConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS", "WORKLOADS"]
    assert {"APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"} <= set(cluster(prod)["loggingConfig"]["enableComponents"])


def test_nodes_run_as_a_dedicated_service_account_with_the_node_roles(plan: Plan) -> None:
    account = only(plan, "gcp:serviceaccount/account:Account").inputs
    email = f"{account['accountId']}@{PROJECT}.iam.gserviceaccount.com"
    assert 6 <= len(account["accountId"]) <= 30
    assert plan.outputs["nodeIdentity"] == email
    grants = plan.of_type("gcp:projects/iAMMember:IAMMember")
    assert {g.inputs["role"] for g in grants} == {
        "roles/container.defaultNodeServiceAccount",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
    }
    assert all(g.inputs["member"] == f"serviceAccount:{email}" and g.inputs["project"] == PROJECT for g in grants)
    for pool in every(plan, NODE_POOL):
        assert pool.inputs["nodeConfig"]["serviceAccount"] == email
        assert pool.inputs["nodeConfig"]["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
        assert {g.urn for g in grants} <= set(pool.dependencies)  # nodes start with their roles granted


def test_kubeconfig_is_secret_and_authenticates_with_the_gke_auth_plugin(plan: Plan) -> None:
    assert plan.outputs["kubeconfig"] == "[secret]"
    config = json.loads(plan.outputs["kubeconfigText"])
    user = config["users"][0]["user"]["exec"]
    assert user["command"] == "gke-gcloud-auth-plugin"
    assert user["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    server = config["clusters"][0]["cluster"]
    assert server["server"].startswith("https://34.") and server["certificate-authority-data"]


def test_identity_outputs_name_the_cluster_issuer_and_workload_pool(plan: Plan) -> None:
    location, name = cluster(plan)["location"], plan.outputs["clusterName"]
    assert plan.outputs["issuer"] == (
        f"https://container.googleapis.com/v1/projects/{PROJECT}/locations/{location}/clusters/{name}"
    )
    assert plan.outputs["workloadPool"] == f"{PROJECT}.svc.id.goog"


def test_every_cloud_resource_is_a_child_on_the_targets_provider(plan: Plan) -> None:
    component = only(plan, "mlplatform:compute:GpuCluster")
    gcp_provider = only(plan, "pulumi:providers:gcp")
    for resource in plan.resources:
        if resource.type.startswith("gcp:"):
            assert resource.parent == component.urn, resource.urn
            assert resource.provider == gcp_provider.urn, resource.urn
            assert resource.inputs.get("project", PROJECT) == PROJECT
            assert "labels" not in resource.inputs  # required labels come from the provider's default_labels


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gpu_pools": (GpuPool("l4", "L4", ("g2-standard-8", "g2-standard-4")),)}, "exactly one machine type"),
        ({"kubernetes_version": "1.33.1-eks"}, "not a GKE version"),
        ({"kubernetes_version": "1.29"}, "1.30.3-gke.1451000 or later"),
        ({"gpu_pools": (GpuPool("a10", "A10G", ("g2-standard-8",)),)}, "no A10G accelerator"),
        ({"gpu_pools": (GpuPool("od", "L4", ("g2-standard-8",), spot=True, fallback=True),)}, "fallback pool"),
        ({"gpu_pools": (GpuPool("l4", "L4", ("n1-standard-4",)),)}, "not a catalogued GCP L4 machine"),
    ],
)
def test_what_gke_would_refuse_is_refused_before_planning(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        cluster_plan(**overrides)


def test_the_gpu_zone_table_is_sourced_current_and_names_only_real_regions_and_gpus() -> None:
    """The table goes stale as Google adds zones: re-read the page within a year of the last reading."""
    assert gcp_zones.SOURCE == "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones"
    assert date.today() - gcp_zones.TABLE_READ < timedelta(days=365), "re-read the GPU zones page"
    offered = {
        acc for region in GCP_REGIONS for acc in machine_catalog.ACCELERATORS if gcp_zones.zones_offering(region, acc)
    }
    assert offered <= set(machine_catalog.GCP_ACCELERATOR_TYPES)
    assert set(gcp_zones._OFFERED) <= GCP_REGIONS
