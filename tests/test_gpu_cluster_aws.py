"""GpuCluster on AWS: EKS with private nodes, spot GPU groups that scale from zero, on-demand fallback."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.gpu_cluster import GpuCluster, GpuClusterArgs, GpuPool, SystemPool
from components.gpu_cluster.aws_network import choose_zones, subnet_cidrs
from components.gpu_cluster.contract import ClusterAccess
from components.target import Target
from preflight import mock_outputs
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import every, only, program_plan

CLUSTER = "eks:index:Cluster"
GROUP = "eks:index:ManagedNodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
ASG_TAG = "aws:autoscaling/tag:Tag"
RELEASE = "kubernetes:helm.sh/v3:Release"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
ADDON = "aws:eks/addon:Addon"
OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"
# The label cluster-autoscaler >= 1.15 reads on AWS GPU nodes (its AWS README, "Special note on GPU
# instances"), with the provider's own name for a T4 (aws_cloud_provider.go, availableGPUTypes).
GPU_LABEL = ("k8s.amazonaws.com/accelerator", "nvidia-tesla-t4")
PROD_CIDRS = ("203.0.113.0/24", "198.51.100.0/24")
# pulumi_eks warns on import about its NodeGroup (launch configurations), which is not used here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_eks.*")

T4_TYPES = ("g4dn.xlarge", "g4dn.2xlarge")  # one T4 each: one GPU count for the node template
DEV_POOLS = (
    GpuPool("t4", "T4", T4_TYPES, min_nodes=0, max_nodes=2),
    GpuPool("t4od", "T4", T4_TYPES, min_nodes=0, max_nodes=1, spot=False, fallback=True),
)
PROD_POOLS = (
    *DEV_POOLS,
    GpuPool("l4x4", "L4", ("g6.12xlarge",), min_nodes=1, max_nodes=4),
    GpuPool("l4x4od", "L4", ("g6.12xlarge",), min_nodes=0, max_nodes=2, spot=False, fallback=True),
)


def cluster_plan(pools: tuple[GpuPool, ...], region: str = "us-east-1", **args: Any) -> Plan:
    """One GpuCluster on an AWS target, built through the public component API."""

    def program() -> None:
        target = Target("t", "aws", region, aws.Provider("t", region=region))
        cluster = GpuCluster(
            "gpu",
            GpuClusterArgs(
                target=target,
                kubernetes_version="1.33",
                system_pool=SystemPool("m6i.large", min_nodes=1, max_nodes=3),
                gpu_pools=pools,
                network_cidr="10.16.0.0/16",
                **args,
            ),
        )
        pulumi.export("clusterName", cluster.cluster_name)
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("oidcIssuerUrl", cluster.identity.oidc_issuer_url)
        pulumi.export("oidcProviderArn", cluster.identity.oidc_provider_arn)
        pulumi.export("networkId", cluster.network.network_id)
        pulumi.export("privateSubnetIds", cluster.network.private_subnet_ids)
        pulumi.export("nodeSecurityGroupId", cluster.network.node_security_group_id)
        pulumi.export("nodeIdentity", cluster.node_identity)

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return cluster_plan(DEV_POOLS)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return cluster_plan(
        PROD_POOLS,
        zones=3,
        nat_per_zone=True,
        control_plane_logs=True,
        deletion_protection=True,
        api_allowed_cidrs=PROD_CIDRS,
    )


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def group(plan: Plan, pool: str) -> dict[str, Any]:
    return next(r.inputs for r in plan.of_type(GROUP) if r.name == f"gpu-{pool}")


def gpu_groups(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.of_type(GROUP) if r.name != "gpu-system"]


def asg_tags(plan: Plan) -> dict[str, dict[str, str]]:
    """Node-template tags per Auto Scaling group name."""
    found: dict[str, dict[str, str]] = {}
    for tag in every(plan, ASG_TAG):
        assert tag.inputs["tag"]["propagateAtLaunch"] is False
        found.setdefault(tag.inputs["autoscalingGroupName"], {})[tag.inputs["tag"]["key"]] = tag.inputs["tag"]["value"]
    return found


def asg_of(plan: Plan, pool: str) -> str:
    prefix = f"eks-{group(plan, pool)['nodeGroupName']}-"  # EKS names a group's ASG eks-<group>-<uuid>
    (name,) = [asg for asg in asg_tags(plan) if asg.startswith(prefix)]
    return name


def subnets(plan: Plan, role_tag: str) -> list[PlannedResource]:
    return [s for s in plan.of_type(SUBNET) if s.inputs["tags"].get(role_tag) == "1"]


def ids_of(plan: Plan, subnets: list[PlannedResource]) -> set[str]:
    """The subnets' ids, read from their route table associations (a plan records inputs only)."""
    urns = {subnet.urn for subnet in subnets}
    associations = plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    return {a.inputs["subnetId"] for a in associations if urns & set(a.dependencies)}


# --- GPU node groups ---------------------------------------------------------------------


def test_gpu_groups_are_spot_except_the_on_demand_fallback(plan: Plan) -> None:
    pools = {pool.name: pool for pool in PROD_POOLS}
    for resource in gpu_groups(plan):
        pool = pools[resource.name.removeprefix("gpu-")]
        if pool.fallback:
            assert resource.inputs["capacityType"] == "ON_DEMAND"
            assert resource.inputs["scalingConfig"]["minSize"] == 0
        else:
            assert resource.inputs["capacityType"] == "SPOT"
    system = group(plan, "system")
    assert system["capacityType"] == "ON_DEMAND"
    assert system["instanceTypes"] == ["m6i.large"]
    assert system["labels"] == {"mlplatform.io/role": "system", "mlplatform.io/capacity": "on-demand"}
    assert system["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}


def test_gpu_groups_run_the_nvidia_ami_tainted_and_labelled(dev: Plan) -> None:
    for pool in DEV_POOLS:
        inputs = group(dev, pool.name)
        assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
        assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        assert inputs["labels"] == {**pool.labels, GPU_LABEL[0]: GPU_LABEL[1]}
        assert inputs["instanceTypes"] == ["g4dn.xlarge", "g4dn.2xlarge"]  # several types, in order
    assert group(dev, "t4od")["labels"]["mlplatform.io/fallback"] == "true"
    assert group(dev, "system")["amiType"] == "AL2023_x86_64_STANDARD"
    assert not group(dev, "system")["taints"]


def test_groups_scale_from_zero_and_pulumi_leaves_desired_size_to_the_autoscaler(plan: Plan) -> None:
    for resource in every(plan, GROUP):
        assert resource.inputs["ignoreScalingChanges"] is True
    assert group(plan, "t4")["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}


def test_zero_node_groups_describe_their_nodes_to_the_autoscaler(prod: Plan) -> None:
    tags = asg_tags(prod)
    assert len(tags) == len(gpu_groups(prod))  # every GPU group, not the system group
    t4 = tags[asg_of(prod, "t4")]
    assert t4 == {
        f"{TEMPLATE}/label/{GPU_LABEL[0]}": GPU_LABEL[1],  # so the autoscaler waits for the device plugin
        f"{TEMPLATE}/label/mlplatform.io/role": "gpu",
        f"{TEMPLATE}/label/mlplatform.io/pool": "t4",
        f"{TEMPLATE}/label/mlplatform.io/accelerator": "t4",
        f"{TEMPLATE}/label/mlplatform.io/capacity": "spot",
        f"{TEMPLATE}/taint/nvidia.com/gpu": "present:NoSchedule",
        f"{TEMPLATE}/resources/nvidia.com/gpu": "1",
    }
    assert tags[asg_of(prod, "t4od")][f"{TEMPLATE}/label/mlplatform.io/fallback"] == "true"
    assert tags[asg_of(prod, "l4x4")][f"{TEMPLATE}/resources/nvidia.com/gpu"] == "4"  # g6.12xlarge


def test_node_group_names_are_deterministic(dev: Plan, prod: Plan) -> None:
    names = {r.name: r.inputs["nodeGroupName"] for r in dev.of_type(GROUP)}
    assert all(re.fullmatch(rf"{r.removeprefix('gpu-')}-[0-9a-f]{{8}}", n) for r, n in names.items()), names
    assert {r.name: r.inputs["nodeGroupName"] for r in prod.of_type(GROUP) if r.name in names} == names


# --- network -----------------------------------------------------------------------------


def test_nodes_live_in_private_subnets_load_balancers_in_public_ones(plan: Plan) -> None:
    private, public = subnets(plan, "kubernetes.io/role/internal-elb"), subnets(plan, "kubernetes.io/role/elb")
    assert len(private) == len(public) == len(plan.of_type(SUBNET)) // 2
    private_ids, public_ids = ids_of(plan, private), ids_of(plan, public)
    for resource in every(plan, GROUP):
        assert set(resource.inputs["subnetIds"]) == private_ids
    cluster = only(plan, CLUSTER).inputs
    assert set(cluster["privateSubnetIds"]) == private_ids
    assert set(cluster["publicSubnetIds"]) == public_ids
    assert set(plan.outputs["privateSubnetIds"]) == private_ids
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in every(plan, SUBNET))


def test_private_subnets_leave_through_nat_public_ones_through_the_internet_gateway(plan: Plan) -> None:
    tables = {t.name: t.inputs["routes"] for t in plan.of_type("aws:ec2/routeTable:RouteTable")}
    (public,) = tables.pop("gpu-public")
    assert public["cidrBlock"] == "0.0.0.0/0" and public["gatewayId"].startswith("igw-")
    assert all(r == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": r[0]["natGatewayId"]}] for r in tables.values())
    assert tables and all(r[0]["natGatewayId"].startswith("nat-") for r in tables.values())
    public_ids = ids_of(plan, subnets(plan, "kubernetes.io/role/elb"))
    assert all(nat.inputs["subnetId"] in public_ids for nat in every(plan, "aws:ec2/natGateway:NatGateway"))


def test_dev_and_prod_differ_in_zones_nat_logs_and_api_access(dev: Plan, prod: Plan) -> None:
    for plan, zones, nats in ((dev, 2, 1), (prod, 3, 3)):
        azs = {s.inputs["availabilityZoneId"] for s in plan.of_type(SUBNET)}
        assert len(azs) == zones and all(az.startswith("use1-az") for az in azs)
        assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == nats
        assert len(plan.of_type("aws:ec2/eip:Eip")) == nats
        nat_routes = {t.inputs["routes"][0].get("natGatewayId") for t in plan.of_type("aws:ec2/routeTable:RouteTable")}
        assert len(nat_routes - {None}) == nats

    dev_cluster, prod_cluster = only(dev, CLUSTER).inputs, only(prod, CLUSTER).inputs
    assert dev_cluster["enabledClusterLogTypes"] == []
    assert prod_cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert dev_cluster["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert prod_cluster["publicAccessCidrs"] == list(PROD_CIDRS)
    assert (dev_cluster["deletionProtection"], prod_cluster["deletionProtection"]) == (False, True)


def test_subnets_are_carved_from_the_network_without_overlap() -> None:
    private, public = subnet_cidrs("10.16.0.0/16", 3)
    assert private == ["10.16.0.0/18", "10.16.64.0/18", "10.16.128.0/18"]
    assert public == ["10.16.192.0/22", "10.16.196.0/22", "10.16.200.0/22"]
    nets = [ipaddress.ip_network(cidr) for cidr in private + public]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    for zones in (1, 4):
        with pytest.raises(ValueError, match="zones"):
            subnet_cidrs("10.16.0.0/16", zones)
    with pytest.raises(ValueError, match="too small"):
        subnet_cidrs("10.16.0.0/24", 2)


def subnet_zones(plan: Plan, role_tag: str) -> dict[str, str]:
    """Subnet id -> zone ID, through the route table associations (a plan records inputs only)."""
    associations = plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    return {
        a.inputs["subnetId"]: subnet.inputs["availabilityZoneId"]
        for subnet in subnets(plan, role_tag)
        for a in associations
        if subnet.urn in a.dependencies
    }


def test_subnets_are_placed_by_zone_id_and_never_where_eks_refuses_the_control_plane(prod: Plan) -> None:
    # us-east-1 has zone IDs use1-az1 to use1-az6 (EC2 DescribeAvailabilityZones); EKS refuses
    # use1-az3 (EKS User Guide, network-reqs), so the first three it takes are az1, az2 and az4.
    zones = [s.inputs.get("availabilityZoneId") for s in prod.of_type(SUBNET)]
    assert sorted(set(zones)) == ["use1-az1", "use1-az2", "use1-az4"]
    assert all("availabilityZone" not in s.inputs for s in prod.of_type(SUBNET))  # names differ per account


def test_zones_eks_does_not_support_are_skipped_in_every_region_it_names() -> None:
    assert choose_zones("us-west-1", ["usw1-az3", "usw1-az1", "usw1-az2"], 2) == ["usw1-az1", "usw1-az3"]
    assert choose_zones("ca-central-1", ["cac1-az1", "cac1-az2", "cac1-az3", "cac1-az4"], 3) == [
        "cac1-az1",
        "cac1-az2",
        "cac1-az4",
    ]
    assert choose_zones("eu-west-1", ["euw1-az3", "euw1-az1", "euw1-az2"], 3) == ["euw1-az1", "euw1-az2", "euw1-az3"]
    with pytest.raises(ValueError, match="2 zones EKS supports"):
        choose_zones("us-west-1", ["usw1-az1", "usw1-az2", "usw1-az3"], 3)


def offered_everywhere_but(missing: dict[str, str]) -> Any:
    """An offerings answer: every asked-for type in use1-az1, az2 and az4, except type -> zone in `missing`."""

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        asked = args["filters"][0]["values"]
        pairs = [(t, z) for z in ("use1-az1", "use1-az2", "use1-az4") for t in asked if missing.get(t) != z]
        return {"instanceTypes": [t for t, _ in pairs], "locations": [z for _, z in pairs]}

    return answer


def test_gpu_groups_span_only_the_zones_that_offer_all_their_instance_types(monkeypatch: pytest.MonkeyPatch) -> None:
    # Worked example: g4dn.2xlarge is not offered in use1-az2, g6.12xlarge everywhere.
    monkeypatch.setitem(mock_outputs._INVOKES, OFFERINGS, offered_everywhere_but({"g4dn.2xlarge": "use1-az2"}))
    plan = cluster_plan(PROD_POOLS, zones=3)
    zone_of = subnet_zones(plan, "kubernetes.io/role/internal-elb")
    for pool, zones in (("t4", ["use1-az1", "use1-az4"]), ("t4od", ["use1-az1", "use1-az4"])):
        assert sorted(zone_of[s] for s in group(plan, pool)["subnetIds"]) == zones
    assert sorted(zone_of[s] for s in group(plan, "l4x4")["subnetIds"]) == ["use1-az1", "use1-az2", "use1-az4"]
    assert sorted(zone_of[s] for s in group(plan, "system")["subnetIds"]) == ["use1-az1", "use1-az2", "use1-az4"]


def test_a_gpu_pool_offered_in_none_of_the_zones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(mock_outputs._INVOKES, OFFERINGS, lambda args: {"instanceTypes": [], "locations": []})
    with pytest.raises(ProgramError, match=r"EC2 offers g4dn\.xlarge, g4dn\.2xlarge in none of the cluster's zones"):
        cluster_plan(DEV_POOLS)


def test_s3_traffic_leaves_the_private_subnets_through_a_gateway_endpoint_not_nat(plan: Plan) -> None:
    (endpoint,) = plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcId"] == plan.outputs["networkId"]
    private = {s.urn for s in subnets(plan, "kubernetes.io/role/internal-elb")}
    associations = plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    private_tables = {a.inputs["routeTableId"] for a in associations if private & set(a.dependencies)}
    assert set(endpoint.inputs["routeTableIds"]) == private_tables and private_tables


# --- the cluster ---------------------------------------------------------------------------


def test_cluster_uses_access_entries_oidc_and_network_policies(dev: Plan) -> None:
    cluster = only(dev, CLUSTER).inputs
    assert cluster["version"] == "1.33"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}  # never paid extended support by default
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["authenticationMode"] == "API"
    assert cluster["accessEntries"] == {"nodes": {"principalArn": dev.outputs["nodeIdentity"], "type": "EC2_LINUX"}}
    assert cluster["createOidcProvider"] is True
    assert cluster["endpointPrivateAccess"] is True and cluster["endpointPublicAccess"] is True
    assert cluster["vpcCniOptions"] == {"enableNetworkPolicy": True}
    assert cluster["vpcId"] == dev.outputs["networkId"]


def test_deploy_preview_and_operator_roles_get_access_entries() -> None:
    deploy, preview = "arn:aws:iam::111122223333:role/deploy", "arn:aws:iam::111122223333:role/preview"
    access = (ClusterAccess("deploy", deploy, admin=True), ClusterAccess("preview", preview, admin=False))
    entries = only(cluster_plan(DEV_POOLS, access=access), CLUSTER).inputs["accessEntries"]
    assert entries["deploy"] == {
        "principalArn": deploy,
        "type": "STANDARD",
        "accessPolicies": {
            "admin": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster"},
            }
        },
    }
    # AmazonEKSViewPolicy reads no Secrets, and Helm keeps its releases in Secrets: a preview
    # needs AmazonEKSAdminViewPolicy (get, list, watch on everything; EKS User Guide).
    assert entries["preview"]["accessPolicies"] == {
        "read": {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
            "accessScope": {"type": "cluster"},
        }
    }
    assert entries["nodes"]["type"] == "EC2_LINUX"


def test_coredns_becomes_an_eks_add_on_after_the_system_nodes(dev: Plan) -> None:
    (coredns,) = [a for a in dev.of_type(ADDON) if a.inputs["addonName"] == "coredns"]
    assert coredns.inputs["clusterName"] == dev.outputs["clusterName"]
    assert coredns.inputs["resolveConflictsOnCreate"] == "OVERWRITE"  # takes over the bootstrapped copy
    assert coredns.inputs["addonVersion"].startswith("v")  # the default version for the cluster's minor
    system = next(r for r in dev.of_type(GROUP) if r.name == "gpu-system")
    assert system.urn in coredns.dependencies


def test_nodes_have_one_role_with_the_worker_cni_and_ecr_policies(dev: Plan) -> None:
    attached = {a.inputs["policyArn"] for a in dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    }
    role = next(r for r in dev.of_type("aws:iam/role:Role") if r.name == "gpu-nodes")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert {group(dev, g)["nodeRoleArn"] for g in ("system", "t4", "t4od")} == {dev.outputs["nodeIdentity"]}


def test_outputs_name_the_cluster_and_keep_the_kubeconfig_secret(dev: Plan) -> None:
    assert dev.outputs["kubeconfig"] == "[secret]"
    assert dev.outputs["clusterName"] == only(dev, CLUSTER).inputs["name"] == "mlplatform-test-gpu"
    assert dev.outputs["networkId"].startswith("vpc-")
    assert dev.outputs["nodeSecurityGroupId"].startswith("sg-")
    issuer = dev.outputs["oidcIssuerUrl"]
    assert issuer.startswith("https://oidc.eks.")
    assert dev.outputs["oidcProviderArn"].endswith(f":oidc-provider/{issuer.removeprefix('https://')}")


def test_every_child_is_parented_here_and_made_with_the_targets_provider(dev: Plan) -> None:
    component = only(dev, "mlplatform:compute:GpuCluster")
    aws_provider = only(dev, "pulumi:providers:aws")
    k8s_provider = only(dev, "pulumi:providers:kubernetes")
    children = [r for r in dev.resources if r.parent == component.urn]
    assert {r.type for r in children} >= {CLUSTER, GROUP, ASG_TAG, RELEASE, "aws:ec2/vpc:Vpc"}
    for child in children:
        if child.custom and child.type.startswith("aws:"):
            assert child.provider == aws_provider.urn, child.urn
    assert only(dev, RELEASE).provider == k8s_provider.urn
    assert k8s_provider.parent == component.urn
    assert k8s_provider.inputs["kubeconfig"] == "[secret]"


# --- the autoscaler ------------------------------------------------------------------------


def test_autoscaler_chart_is_pinned_and_prefers_spot_over_fallback(prod: Plan) -> None:
    release = only(prod, RELEASE).inputs
    assert (release["chart"], release["version"], release["namespace"]) == (
        "cluster-autoscaler",
        "9.51.0",
        "kube-system",
    )
    assert release["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    values = release["values"]
    assert values["autoDiscovery"] == {"clusterName": "mlplatform-test-gpu"}
    assert values["awsRegion"] == "us-east-1"
    assert values["extraArgs"] == {
        "expander": "priority",
        "balance-similar-node-groups": True,
        "skip-nodes-with-system-pods": False,
        "max-node-provision-time": "10m",
    }
    assert values["nodeSelector"] == {"mlplatform.io/role": "system"}

    priorities = {int(p): patterns for p, patterns in values["expanderPriorities"].items()}
    assert sorted(priorities) == [1, 10, 50]

    def priority_of(asg: str) -> int:
        return max(p for p, patterns in priorities.items() if any(re.fullmatch(x, asg) for x in patterns))

    assert priority_of(asg_of(prod, "t4")) == priority_of(asg_of(prod, "l4x4")) == 50
    assert priority_of(asg_of(prod, "t4od")) == priority_of(asg_of(prod, "l4x4od")) == 10
    assert priority_of("eks-system-0000-some-uuid") == 1  # the system group still scales


def test_autoscaler_waits_longer_than_gpu_nodes_take_to_join(prod: Plan) -> None:
    """AWS GPU nodes (driver in the AMI) joined and ran pods in 4-6 min (kubernetes/autoscaler#3464);
    at 5m a g4dn group timed out and orphaned its instance (#6810). Under the default 15m, so a spot
    node that never registers still hands over to the on-demand fallback sooner."""
    provision_time = only(prod, RELEASE).inputs["values"]["extraArgs"]["max-node-provision-time"]
    minutes = int(re.fullmatch(r"([0-9]+)m", provision_time).group(1))  # type: ignore[union-attr]
    assert 6 < minutes < 15


def test_autoscaler_role_is_assumable_only_by_its_service_account(dev: Plan) -> None:
    role = next(r for r in dev.of_type("aws:iam/role:Role") if r.name == "gpu-autoscaler")
    role_name = only(dev, "aws:iam/rolePolicy:RolePolicy").inputs["role"]
    account = only(dev, RELEASE).inputs["values"]["rbac"]["serviceAccount"]
    assert account["name"] == "cluster-autoscaler"
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role_name}"}

    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    issuer = dev.outputs["oidcIssuerUrl"].removeprefix("https://")
    assert statement["Principal"] == {"Federated": dev.outputs["oidcProviderArn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }


def test_autoscaler_may_scale_only_this_clusters_groups(dev: Plan) -> None:
    policy = json.loads(only(dev, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    scale = statements["ScaleThisClusterOnly"]
    assert scale["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert scale["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlplatform-test-gpu": "owned"}
    }
    assert statements["ReadNodeGroups"]["Resource"] == "arn:aws:eks:us-east-1:*:nodegroup/mlplatform-test-gpu/*"
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["Discover"]["Action"])


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (GpuPool("x", "T4", ("g5.xlarge",)), "not a catalogued AWS T4 machine"),
        (GpuPool("x", "T4", ("g4dn.xlarge", "g4dn.12xlarge")), "differ in GPUs per node"),
        (GpuPool("x", "T4", ("g4dn.xlarge",), fallback=True), "fallback pool is on-demand"),
    ],
)
def test_pools_the_autoscaler_could_not_describe_are_refused(pool: GpuPool, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        cluster_plan((pool,))
