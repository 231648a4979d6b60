"""GpuCluster on Azure: AKS with spot GPU pools from zero, Entra ID, workload identity, locked down in prod."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest
import yaml
from pulumi_azure_native import resources

from components.gpu_cluster import GpuCluster, GpuClusterArgs, GpuPool, SystemPool
from components.scheduling import AKS_SPOT_TAINT, LABEL_FALLBACK
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import only, program_plan

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
GRANT = "azure-native:authorization:RoleAssignment"
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
T4 = ("Standard_NC4as_T4_v3",)
A100 = ("Standard_NC24ads_A100_v4",)
ADMINS = ("11111111-2222-3333-4444-555555555555",)
GROUP_ID_PREFIX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
IDENTITY_PATH = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mlp-control-plane"


def dev_args(target: Target) -> GpuClusterArgs:
    return GpuClusterArgs(
        target=target,
        kubernetes_version="1.33",
        system_pool=SystemPool("Standard_D4ds_v5"),
        gpu_pools=(
            GpuPool("t4", "T4", T4),
            GpuPool("t4od", "T4", T4, spot=False, fallback=True),
        ),
    )


def prod_args(target: Target) -> GpuClusterArgs:
    return GpuClusterArgs(
        target=target,
        kubernetes_version="1.33",
        system_pool=SystemPool("Standard_D4ds_v5", min_nodes=3, max_nodes=5),
        gpu_pools=(
            GpuPool("t4", "T4", T4, max_nodes=4),
            GpuPool("t4od", "T4", T4, max_nodes=4, spot=False, fallback=True),
            GpuPool("a100", "A100", A100, min_nodes=1, max_nodes=3, spot_max_price=2.5),
            GpuPool("a100od", "A100", A100, max_nodes=3, spot=False, fallback=True),
        ),
        network_cidr="10.20.0.0/16",
        zones=3,
        deletion_protection=True,
        api_allowed_cidrs=("203.0.113.0/24",),
        local_accounts=False,
        admin_group_object_ids=ADMINS,
    )


def cluster_program(make_args: Any) -> Plan:
    """One GpuCluster on an Azure target with its resource group, through the public API."""

    def program() -> None:
        provider = azure_native.Provider("t", location="westeurope")
        group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
        target = Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)
        cluster = GpuCluster("mlp", make_args(target))
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("kubeconfigText", pulumi.Output.unsecret(cluster.kubeconfig))
        pulumi.export("clusterName", cluster.cluster_name)
        pulumi.export("oidcIssuerUrl", cluster.identity.oidc_issuer_url)
        pulumi.export("nodeIdentity", cluster.node_identity)
        pulumi.export("networkId", cluster.network.network_id)
        pulumi.export("privateSubnetIds", cluster.network.private_subnet_ids)

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return cluster_program(dev_args)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return cluster_program(prod_args)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def pools(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["agentPoolName"]: r.inputs for r in plan.of_type(AGENT_POOL)}


def cluster_inputs(plan: Plan) -> dict[str, Any]:
    return only(plan, CLUSTER).inputs


def system_pool(plan: Plan) -> dict[str, Any]:
    (profile,) = cluster_inputs(plan)["agentPoolProfiles"]
    return dict(profile)


def subnet(plan: Plan, name: str) -> PlannedResource:
    return next(r for r in plan.of_type(SUBNET) if r.inputs["subnetName"] == name)


def test_every_azure_child_is_parented_on_the_target_provider_in_the_resource_group(plan: Plan) -> None:
    component = only(plan, "mlplatform:compute:GpuCluster")
    provider = only(plan, "pulumi:providers:azure-native")
    children = [r for r in plan.resources if r.parent == component.urn and r.type.startswith("azure-native:")]
    assert {r.type for r in children} >= {CLUSTER, AGENT_POOL, SUBNET, VNET}
    assert all(r.provider == provider.urn for r in children)
    grouped = [r for r in children if r.type != "azure-native:authorization:RoleAssignment"]  # scoped by id
    assert len({r.inputs["resourceGroupName"] for r in grouped}) == 1
    assert grouped[0].inputs["resourceGroupName"].startswith("rg-")  # the target's group
    assert {r.inputs["location"] for r in grouped if "location" in r.inputs} == {"westeurope"}
    assert only(plan, CLUSTER).inputs["location"] == only(plan, VNET).inputs["location"] == "westeurope"
    assert not any("tags" in r.inputs for r in children)  # the footprint's transform adds them


def test_gpu_pools_are_spot_with_delete_eviction_except_the_fallback(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        for name, pool in pools(plan).items():
            if name.endswith("od"):
                assert pool["scaleSetPriority"] == "Regular"
                assert pool["minCount"] == 0
                assert "scaleSetEvictionPolicy" not in pool and "spotMaxPrice" not in pool
                assert pool["nodeLabels"][LABEL_FALLBACK] == "true"
            else:
                assert pool["scaleSetPriority"] == "Spot"
                assert pool["scaleSetEvictionPolicy"] == "Delete"
    assert pools(dev)["t4"]["spotMaxPrice"] == -1
    assert pools(prod)["t4"]["spotMaxPrice"] == -1
    assert pools(prod)["a100"]["spotMaxPrice"] == 2.5


def test_gpu_pools_autoscale_from_zero_tainted_and_labelled(plan: Plan) -> None:
    for name, pool in pools(plan).items():
        assert pool["mode"] == "User"
        assert pool["enableAutoScaling"] is True
        assert pool["count"] == pool["minCount"] <= pool["maxCount"]
        # AKS adds the spot taint itself; only the platform's GPU taint is declared.
        assert pool["nodeTaints"] == [GPU_TAINT]
        assert pool["nodeLabels"]["mlplatform.io/pool"] == name
        assert pool["nodeLabels"]["mlplatform.io/role"] == "gpu"
        assert pool["vnetSubnetID"].endswith("/subnets/nodes")
    assert {p["minCount"] for n, p in pools(plan).items() if n != "a100"} == {0}
    assert AKS_SPOT_TAINT[0] == "kubernetes.azure.com/scalesetpriority"


def test_pools_spread_over_the_configured_zones(dev: Plan, prod: Plan) -> None:
    for plan, zones in ((dev, ["1", "2"]), (prod, ["1", "2", "3"])):
        assert system_pool(plan)["availabilityZones"] == zones
        assert all(pool["availabilityZones"] == zones for pool in pools(plan).values())


def test_pool_vm_size_and_version_follow_the_args(prod: Plan) -> None:
    assert pools(prod)["a100"]["vmSize"] == A100[0]
    assert pools(prod)["a100"]["maxCount"] == 3
    assert {p["orchestratorVersion"] for p in pools(prod).values()} == {"1.33"}


def test_system_pool_is_on_demand_and_keeps_user_workloads_off(plan: Plan) -> None:
    profile = system_pool(plan)
    assert profile["mode"] == "System"
    assert profile["osType"] == "Linux"
    assert profile.get("scaleSetPriority", "Regular") == "Regular"
    assert profile["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert profile["nodeLabels"] == {"mlplatform.io/role": "system", "mlplatform.io/capacity": "on-demand"}
    assert profile["enableAutoScaling"] is True
    assert profile["vnetSubnetID"].endswith("/subnets/nodes")


def test_workload_identity_and_oidc_issuer_are_on(plan: Plan) -> None:
    cluster = cluster_inputs(plan)
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert plan.outputs["oidcIssuerUrl"].startswith("https://westeurope.oic.prod-aks.azure.com/")


def test_network_is_cni_overlay_with_cilium_policy_outside_the_vnet(plan: Plan) -> None:
    network = cluster_inputs(plan)["networkProfile"]
    assert network["networkPlugin"] == "azure"
    assert network["networkPluginMode"] == "overlay"
    assert network["networkDataplane"] == "cilium"
    assert network["networkPolicy"] == "cilium"
    vnet = ipaddress.ip_network(only(plan, VNET).inputs["addressSpace"]["addressPrefixes"][0])
    pods, services = ipaddress.ip_network(network["podCidr"]), ipaddress.ip_network(network["serviceCidr"])
    assert not pods.overlaps(vnet) and not services.overlaps(vnet) and not pods.overlaps(services)
    assert ipaddress.ip_address(network["dnsServiceIP"]) in services


def test_auto_upgrade_keeps_the_minor_version_and_patches_node_images(plan: Plan) -> None:
    cluster = cluster_inputs(plan)
    assert cluster["kubernetesVersion"] == "1.33"
    assert cluster["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}


def test_entra_id_everywhere_local_accounts_only_in_dev(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        aad = cluster_inputs(plan)["aadProfile"]
        assert aad["managed"] is True and aad["enableAzureRBAC"] is True
    assert cluster_inputs(dev)["disableLocalAccounts"] is False
    assert cluster_inputs(prod)["disableLocalAccounts"] is True
    assert cluster_inputs(prod)["aadProfile"]["adminGroupObjectIDs"] == list(ADMINS)


def test_kubeconfig_is_secret_and_uses_kubelogin_without_local_accounts(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        assert plan.outputs["kubeconfig"] == "[secret]"
        assert only(plan, "pulumi:providers:kubernetes").inputs["kubeconfig"] == "[secret]"
    dev_config = yaml.safe_load(dev.outputs["kubeconfigText"])
    prod_config = yaml.safe_load(prod.outputs["kubeconfigText"])
    assert "client-certificate-data" in dev_config["users"][0]["user"]
    assert prod_config["users"][0]["user"]["exec"]["command"] == "kubelogin"


def test_api_access_is_restricted_in_prod_and_uptime_sla_bought(dev: Plan, prod: Plan) -> None:
    assert cluster_inputs(prod)["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.0/24"]
    assert cluster_inputs(dev)["apiServerAccessProfile"]["authorizedIPRanges"] == []
    assert cluster_inputs(prod)["sku"] == {"name": "Base", "tier": "Standard"}
    assert cluster_inputs(dev)["sku"] == {"name": "Base", "tier": "Free"}


def test_prod_protects_the_cluster_and_network(dev: Plan, prod: Plan) -> None:
    kept = {CLUSTER, VNET, SUBNET, IDENTITY, GRANT}  # a kept cluster needs its identity and its grant
    assert kept <= {r.type for r in prod.resources}
    assert all(r.protect and r.retain_on_delete for r in prod.resources if r.type in kept)
    assert not any(r.protect for r in dev.resources)


def test_autoscaler_prefers_spot_then_fallback_then_system(plan: Plan) -> None:
    assert cluster_inputs(plan)["autoScalerProfile"]["expander"] == "priority"
    configmap = only(plan, CONFIGMAP)
    assert configmap.inputs["metadata"] == {"name": "cluster-autoscaler-priority-expander", "namespace": "kube-system"}
    assert configmap.provider == only(plan, "pulumi:providers:kubernetes").urn
    priorities: dict[int, list[str]] = yaml.safe_load(configmap.inputs["data"]["priorities"])
    rank = {regex: priority for priority, regexes in priorities.items() for regex in regexes}

    def priority_of(node_group: str) -> int:
        matches = [p for regex, p in rank.items() if re.search(regex, node_group)]
        assert len(matches) == 1, f"{node_group} matches {matches}"
        return matches[0]

    names = pools(plan)
    for spot in (n for n in names if not n.endswith("od")):
        assert priority_of(f"aks-{spot}-12345678-vmss") > priority_of(f"aks-{spot}od-12345678-vmss")
        assert priority_of(f"aks-{spot}od-12345678-vmss") > priority_of("aks-system-12345678-vmss")
    assert min(priorities) == priority_of("aks-system-87654321-vmss") > 0


def test_database_subnet_is_delegated_to_postgres_and_exported(plan: Plan) -> None:
    database = subnet(plan, "database")
    assert database.inputs["delegations"] == [
        {"name": "postgres", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}
    ]
    assert plan.outputs["privateSubnetIds"] == [f"{plan.outputs['networkId']}/subnets/database"]
    nodes = ipaddress.ip_network(subnet(plan, "nodes").inputs["addressPrefix"])
    assert not nodes.overlaps(ipaddress.ip_network(database.inputs["addressPrefix"]))
    assert "delegations" not in subnet(plan, "nodes").inputs


def test_outputs_name_the_cluster_and_its_kubelet_identity(plan: Plan) -> None:
    assert plan.outputs["clusterName"] == cluster_inputs(plan)["resourceName"] == "mlp"
    assert plan.outputs["networkId"].endswith("/virtualNetworks/mlp-vnet")
    assert len(plan.outputs["nodeIdentity"]) == 36  # a GUID: the kubelet identity's object id


def test_cluster_identity_may_manage_the_node_subnet(plan: Plan) -> None:
    grant = only(plan, GRANT).inputs
    assert grant["scope"] == plan.outputs["networkId"] + "/subnets/nodes"
    assert grant["principalType"] == "ServicePrincipal"
    assert grant["roleDefinitionId"].endswith("/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")


def test_control_plane_identity_is_user_assigned_and_granted_on_the_subnet_before_the_cluster(plan: Plan) -> None:
    """AKS's advice for a VNet of your own: the identity exists and holds its grant before the cluster."""
    identity, grant, cluster = only(plan, IDENTITY), only(plan, GRANT), only(plan, CLUSTER)
    assert identity.inputs["resourceGroupName"] == cluster.inputs["resourceGroupName"]
    assert cluster.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [f"{GROUP_ID_PREFIX}{identity.inputs['resourceGroupName']}{IDENTITY_PATH}"],
    }
    assert identity.urn in grant.dependencies  # the grant names this identity's principal
    assert grant.urn in cluster.dependencies  # and is in place before the cluster is created


def test_gpu_pools_are_created_one_after_another(prod: Plan) -> None:
    """AKS answers a second concurrent agent-pool operation with 409 OperationNotAllowed."""
    agent_pools = prod.of_type(AGENT_POOL)
    assert len(agent_pools) == 4
    by_urn = {pool.urn: pool for pool in agent_pools}

    def earlier(pool: PlannedResource) -> list[PlannedResource]:
        return [by_urn[urn] for urn in pool.dependencies if urn in by_urn]

    firsts = [pool for pool in agent_pools if not earlier(pool)]
    assert len(firsts) == 1 and only(prod, CLUSTER).urn in firsts[0].dependencies
    chain = [firsts[0]]
    while followers := [pool for pool in agent_pools if earlier(pool) == [chain[-1]]]:
        assert len(followers) == 1, f"{[p.name for p in followers]} would start together"
        chain.append(followers[0])
    assert [pool.inputs["agentPoolName"] for pool in chain] == ["t4", "t4od", "a100", "a100od"]


def test_autoscaler_waits_for_gpu_nodes_that_install_their_driver(plan: Plan) -> None:
    """AKS GPU nodes register after the driver is installed: 5.4 min in AKS's node-image tests, up to
    10-11 min for A100 nodes (the sources in azure_autoscaler). The old 5m deleted them mid-install."""
    provision_time = cluster_inputs(plan)["autoScalerProfile"]["maxNodeProvisionTime"]
    assert re.fullmatch(r"[0-9]+m", provision_time)  # the only form AKS accepts
    assert int(provision_time[:-1]) > 11
    assert provision_time == "15m"  # AKS's own default


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (GpuPool("t4", "T4", (*T4, "Standard_NC8as_T4_v3")), "exactly one VM size"),
        (GpuPool("t4-spot", "T4", T4), "lowercase letters or digits"),
        (GpuPool("t4od", "T4", T4, fallback=True), "fallback pool is on-demand"),
        (GpuPool("t4", "T4", T4, spot_max_price=0.123456), "at most 5 decimals"),
    ],
)
def test_pools_aks_would_refuse_fail_before_planning(pool: GpuPool, message: str) -> None:
    def broken(target: Target) -> GpuClusterArgs:
        return GpuClusterArgs(target=target, kubernetes_version="1.33", system_pool=SystemPool("x"), gpu_pools=(pool,))

    with pytest.raises(ProgramError, match=message):
        cluster_program(broken)


def test_vnet_overlapping_the_pod_range_is_refused() -> None:
    def overlapping(target: Target) -> GpuClusterArgs:
        return GpuClusterArgs(
            target=target,
            kubernetes_version="1.33",
            system_pool=SystemPool("x"),
            gpu_pools=(),
            network_cidr="10.244.0.0/16",
        )

    with pytest.raises(ProgramError, match="overlaps the cluster's pod range"):
        cluster_program(overlapping)
