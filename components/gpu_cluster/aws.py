"""EKS implementation: private managed node groups behind NAT, IRSA, VPC CNI network policies,
an on-demand system group, spot GPU groups and on-demand fallback chosen by cluster-autoscaler.

Choices the contract leaves to each cloud:
- Nodes reach the API through access entries only (authentication mode API): the node role
  gets an EC2_LINUX entry, the principal that creates the cluster gets admin from EKS itself
  (pulumi-eks always asks for it), and `args.access` names the other roles: admins get
  AmazonEKSClusterAdminPolicy, readers AmazonEKSAdminViewPolicy (which, unlike
  AmazonEKSViewPolicy, reads Secrets, where Helm keeps its releases).
- GPU nodes carry `k8s.amazonaws.com/accelerator`: cluster-autoscaler takes a node with it as a
  GPU node whose GPUs are still coming, instead of scaling out again until the device plugin
  reports them (cluster-autoscaler's AWS README, "Special note on GPU instances").
- CoreDNS becomes an EKS add-on once the system group is up: without a default node group
  pulumi-eks leaves the unmanaged copy EKS bootstraps, which nothing ever upgrades.
- A GpuPool may list several machine types (one managed node group takes them all); they must
  be catalogued AWS machines of the pool's accelerator with one GPU count per node.
- The EKS cluster and its node groups get physical names known at preview, so the autoscaler's
  IAM condition and chart values are planned too. A node group's name ends in a digest of the
  settings EKS cannot change in place, so changing them makes a new group before the old one goes.
- spot_max_price is Azure only: EC2 Spot has no bid price in managed node groups.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import machine_catalog
from components.gpu_cluster import aws_autoscaler as autoscaler
from components.gpu_cluster import aws_image_cache as image_cache
from components.gpu_cluster.aws_network import Network, build_network, gpu_subnet_ids
from components.gpu_cluster.contract import (
    ClusterAccess,
    ClusterNetwork,
    ClusterOutputs,
    GpuClusterArgs,
    GpuPool,
    WorkloadIdentity,
)
from components.scheduling import API_EFFECTS, system_labels

GPU_AMI = "AL2023_x86_64_NVIDIA"  # EKS AMI type with the NVIDIA driver and container toolkit
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
GPU_DISK_GIB = 100  # inference images (CUDA, Triton) do not fit the 20 GiB default
IMDS_HOP_LIMIT = 1  # pods cannot reach the instance metadata service (_launch_template)
ROOT_DEVICE = "/dev/xvda"  # AL2023's root volume
UPGRADE_SUPPORT_TYPE = "STANDARD"  # the cluster's upgradePolicy.supportType (see _cluster)
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
ANYWHERE = "0.0.0.0/0"
# EKS access policies ("Review access policy permissions", Amazon EKS User Guide, read 2026-12):
# cluster admin is `*` on everything; AdminView is get/list/watch on everything, Secrets included.
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
READ_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
MAX_NODE_GROUP_NAME = 63
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")  # EKS CreateCluster's pattern


@dataclass(frozen=True)
class _GroupSpec:
    """What differs between the system group and a GPU group."""

    group: str
    machine_types: tuple[str, ...]
    capacity_type: str
    ami_type: str
    labels: dict[str, str]
    min_nodes: int
    max_nodes: int
    taints: list[dict[str, str]] = field(default_factory=list)
    disk_size: int | None = None
    data_snapshot: str | None = None  # Bottlerocket's data volume from this snapshot (aws_image_cache.py)

    @property
    def node_group_name(self) -> str:
        """Unique per cluster; changes with every setting whose change replaces the group."""
        immutable = json.dumps([self.machine_types, self.capacity_type, self.ami_type, self.disk_size])
        return f"{self.group}-{hashlib.sha256(immutable.encode()).hexdigest()[:8]}"


def build(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> ClusterOutputs:
    gpus_per_node = _validate(args)
    cluster_name = _cluster_name(name)
    network = build_network(parent, name, args)
    node_role, node_role_arn = _node_role(parent, name, args)
    cluster = _cluster(parent, name, args, cluster_name, network, node_role)

    all_private: pulumi.Output[list[str]] = pulumi.Output.all(*network.private_subnet_ids)
    system = _node_group(parent, name, args, cluster, all_private, node_role_arn, _system_spec(args))
    gpu_groups = []
    for pool in args.gpu_pools:
        spec = _gpu_spec(pool, args.eks_image_snapshot)
        subnets = gpu_subnet_ids(network, args.target.region, pool.name, pool.machine_types)
        group = _node_group(parent, name, args, cluster, subnets, node_role_arn, spec)
        asg = _asg_name(args, cluster_name, spec.node_group_name, group)
        autoscaler.tag_node_templates(parent, name, args, pool, gpus_per_node[pool.name], asg)
        gpu_groups.append((pool, asg))

    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(cluster.kubeconfig_json)
    # Everything applied through the provider waits for the system nodes: Helm releases that wait
    # for ready pods would otherwise start their timeout before any node exists.
    provider_opts = pulumi.ResourceOptions(parent=parent, depends_on=[system])
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=provider_opts)
    role = autoscaler.autoscaler_role(parent, name, args, cluster_name, cluster.oidc_provider_arn, cluster.oidc_issuer)
    values = autoscaler.chart_values(args, cluster_name, role.arn, autoscaler.expander_priorities(gpu_groups))
    autoscaler.install_autoscaler(parent, name, args, values, provider, depends_on=[system])
    after_system = pulumi.ResourceOptions.merge(
        args.target.child_options(parent), pulumi.ResourceOptions(depends_on=[cluster, system])
    )
    # EKS has no metrics-server by default; HPAs (KEDA's CPU trigger) need it. The EKS community
    # add-on (Amazon EKS User Guide, "Community add-ons": Kubernetes Metrics Server).
    aws.eks.Addon(f"{name}-metrics-server", cluster_name=cluster_name, addon_name="metrics-server", opts=after_system)
    _coredns(name, args, cluster_name, after_system)

    return ClusterOutputs(
        # Read through the cluster so users of the name wait for the cluster to exist.
        cluster_name=cluster.urn.apply(lambda _: cluster_name),
        kubeconfig=kubeconfig,
        k8s_provider=provider,
        identity=WorkloadIdentity(
            oidc_issuer_url=cluster.oidc_provider_url, oidc_provider_arn=cluster.oidc_provider_arn
        ),
        network=ClusterNetwork(
            network_id=network.vpc_id,
            private_subnet_ids=pulumi.Output.all(*network.private_subnet_ids),
            # Managed node groups without a launch template use the security group EKS creates.
            node_security_group_id=cluster.node_security_group_id,
        ),
        node_identity=node_role.arn,
    )


def _validate(args: GpuClusterArgs) -> dict[str, int]:
    """Fails before anything is registered; returns each GPU pool's GPUs per node."""
    system = args.system_pool
    if not 0 <= system.min_nodes <= system.max_nodes or system.max_nodes < 1:
        raise ValueError("system pool: need 0 <= min_nodes <= max_nodes and max_nodes >= 1")
    autoscaler.chart_version(args.kubernetes_version)
    names = [pool.name for pool in args.gpu_pools]
    if len(set(names)) != len(names):
        raise ValueError(f"GPU pool names must be unique, got {names}")
    return {pool.name: _gpus_per_node(pool) for pool in args.gpu_pools}


def _gpus_per_node(pool: GpuPool) -> int:
    where = f"GPU pool {pool.name!r}"
    if not 0 <= pool.min_nodes <= pool.max_nodes or pool.max_nodes < 1:
        raise ValueError(f"{where}: need 0 <= min_nodes <= max_nodes and max_nodes >= 1")
    if pool.fallback and (pool.spot or pool.min_nodes != 0):
        raise ValueError(f"{where}: a fallback pool is on-demand with min_nodes 0")
    if not pool.machine_types:
        raise ValueError(f"{where}: no machine types")
    gpus = set()
    for machine_type in pool.machine_types:
        found = machine_catalog.machine("aws", machine_type)
        if found is None or found.accelerator != pool.accelerator:
            raise ValueError(f"{where}: {machine_type} is not a catalogued AWS {pool.accelerator} machine")
        gpus.add(found.gpus)
    # One GPU count goes into the ASG's node template. (That all types are alike in CPU and
    # memory too is the config's check, stacks/cluster_config.py.)
    if len(gpus) != 1:
        raise ValueError(f"{where}: machine types differ in GPUs per node ({sorted(gpus)})")
    return gpus.pop()


def _cluster_name(name: str) -> str:
    """Project, stack and component: unique per account and region across this project's stacks."""
    cluster_name = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
    if not _CLUSTER_NAME.match(cluster_name):
        raise ValueError(f"EKS cluster name {cluster_name!r}: letters, digits, '-' and '_', at most 100")
    return cluster_name


def _node_role(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs
) -> tuple[aws.iam.Role, pulumi.Output[str]]:
    """The nodes' role, and its ARN as known only once the managed policies are attached.

    Node groups take that ARN, so they cannot be created (and fail to join) before the
    policies are in place.
    """
    opts = args.target.child_options(parent)
    role = aws.iam.Role(
        f"{name}-nodes",
        description="EKS managed nodes (kubelet, VPC CNI, image pulls)",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        opts=opts,
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-nodes-{policy}",
            role=role.name,
            policy_arn=f"arn:aws:iam::aws:policy/{policy}",  # commercial partition only (stacks/regions.py)
            opts=opts,
        )
        for policy in NODE_POLICIES
    ]
    arn = pulumi.Output.all(role.arn, *[attachment.id for attachment in attachments]).apply(lambda v: str(v[0]))
    return role, arn


def _cluster(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster_name: str,
    network: Network,
    node_role: aws.iam.Role,
) -> eks.Cluster:
    nodes_entry: eks.AccessEntryArgsDict = {"principal_arn": node_role.arn, "type": eks.AccessEntryType.EC2_LINUX}
    entries = {"nodes": nodes_entry, **{access.name: _access_entry(access) for access in args.access}}
    logs = [_control_plane_log_group(parent, name, args, cluster_name)] if args.control_plane_logs else []
    return eks.Cluster(
        f"{name}-eks",
        name=cluster_name,
        version=args.kubernetes_version,
        # STANDARD: at the end of standard support EKS upgrades the control plane instead of moving it
        # into extended support at $0.60 instead of $0.10 an hour; pulumi-eks defaults to EXTENDED.
        upgrade_policy={"support_type": UPGRADE_SUPPORT_TYPE},
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids,
        skip_default_node_group=True,
        # No extra cluster/node security groups: managed nodes use the one EKS creates.
        skip_default_security_groups=True,
        authentication_mode=eks.AuthenticationMode.API,
        access_entries=entries,
        create_oidc_provider=True,
        endpoint_private_access=True,
        endpoint_public_access=True,
        public_access_cidrs=list(args.api_allowed_cidrs) or [ANYWHERE],
        enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES) if args.control_plane_logs else [],
        vpc_cni_options={"enable_network_policy": True},  # the vpc-cni add-on's enableNetworkPolicy
        deletion_protection=args.deletion_protection,
        encryption_config_key_arn=_secrets_key(parent, name, args).arn if args.customer_managed_key else None,
        opts=pulumi.ResourceOptions.merge(args.target.child_options(parent), pulumi.ResourceOptions(depends_on=logs)),
    )


def _secrets_key(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> aws.kms.Key:
    """The key EKS envelope-encrypts Secrets with. Its policy is KMS's default (the account's IAM policies
    decide): EKS uses it through a grant it makes with the creating principal's kms:CreateGrant and
    kms:DescribeKey ("Encrypt Kubernetes secrets with KMS", Amazon EKS User Guide, read 2026-12). Once on,
    the encryption cannot be turned off, and deleting the key loses every Secret: kept like the cluster."""
    return aws.kms.Key(
        f"{name}-secrets-key",
        description=f"Envelope encryption of the Kubernetes Secrets of {name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=args.target.child_options(parent, keep=args.deletion_protection),
    )


def _control_plane_log_group(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs, cluster_name: str
) -> aws.cloudwatch.LogGroup:
    """The group EKS writes control-plane logs to, made first with the stack's retention.

    EKS writes to /aws/eks/<cluster>/cluster and, when the group does not exist, creates it itself with
    no retention (logs kept forever) and outside this program. Made before the cluster, the group is
    used as it is (the pattern of terraform-aws-eks; hashicorp/terraform-provider-aws issue 41345, read
    2026-12). The name is composed from the cluster's fixed name because it must exist before the cluster
    does. A cluster made before this group existed already has one: import it (docs/OPERATIONS.md).
    """
    return aws.cloudwatch.LogGroup(
        f"{name}-control-plane-logs",
        name=f"/aws/eks/{cluster_name}/cluster",
        retention_in_days=args.control_plane_log_days,
        opts=args.target.child_options(parent),
    )


def _access_entry(access: ClusterAccess) -> eks.AccessEntryArgsDict:
    """A STANDARD entry with one access policy on the whole cluster."""
    policy = ADMIN_POLICY if access.admin else READ_POLICY
    return {
        "principal_arn": access.principal_arn,
        "type": eks.AccessEntryType.STANDARD,
        "access_policies": {
            "admin" if access.admin else "read": {"policy_arn": policy, "access_scope": {"type": "cluster"}}
        },
    }


def _coredns(name: str, args: GpuClusterArgs, cluster_name: str, opts: pulumi.ResourceOptions) -> aws.eks.Addon:
    """CoreDNS as an EKS add-on, at the default version EKS gives the cluster's Kubernetes minor.

    OVERWRITE takes over the Deployment EKS bootstrapped. No placement settings are needed:
    CoreDNS's pods tolerate no GPU taint, so they run on the untainted system nodes.
    """
    version = aws.eks.get_addon_version_output(
        addon_name="coredns",
        kubernetes_version=args.kubernetes_version,
        most_recent=False,  # the default version for this minor, the one EKS tests it with
        region=args.target.region,
        opts=pulumi.InvokeOutputOptions(provider=args.target.provider),
    )
    return aws.eks.Addon(
        f"{name}-coredns",
        cluster_name=cluster_name,
        addon_name="coredns",
        addon_version=version.version,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=opts,
    )


def _system_spec(args: GpuClusterArgs) -> _GroupSpec:
    pool = args.system_pool
    return _GroupSpec(
        group="system",
        machine_types=(pool.machine_type,),
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        ami_type=SYSTEM_AMI,
        labels=system_labels(pool.spot),
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
    )


def _gpu_spec(pool: GpuPool, snapshot: str | None = None) -> _GroupSpec:
    """`snapshot`: Bottlerocket with the Triton image on its data volume, else AL2023 pulling it."""
    return _GroupSpec(
        group=pool.name,
        machine_types=pool.machine_types,
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        ami_type=image_cache.BOTTLEROCKET_GPU_AMI if snapshot else GPU_AMI,
        labels={**autoscaler.aws_gpu_labels(pool), **(image_cache.BUILTIN_DEVICE_PLUGIN if snapshot else {})},
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        taints=[{"key": key, "value": value, "effect": API_EFFECTS[effect]} for key, value, effect in pool.taints],
        disk_size=GPU_DISK_GIB,
        data_snapshot=snapshot,
    )


def _node_group(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster: eks.Cluster,
    subnet_ids: pulumi.Output[list[str]],
    node_role_arn: pulumi.Output[str],
    spec: _GroupSpec,
) -> eks.ManagedNodeGroup:
    if len(spec.node_group_name) > MAX_NODE_GROUP_NAME:
        raise ValueError(f"node group name {spec.node_group_name!r} is longer than {MAX_NODE_GROUP_NAME}")
    scaling: dict[str, Any] = {"min_size": spec.min_nodes, "max_size": spec.max_nodes, "desired_size": spec.min_nodes}
    template = _launch_template(parent, name, args, spec)
    return eks.ManagedNodeGroup(
        f"{name}-{spec.group}",
        cluster=cluster,
        node_group_name=spec.node_group_name,
        node_role_arn=node_role_arn,
        subnet_ids=subnet_ids,
        instance_types=list(spec.machine_types),
        capacity_type=spec.capacity_type,
        ami_type=spec.ami_type,
        labels=spec.labels,
        taints=spec.taints,
        # The disk size lives in the launch template: EKS refuses diskSize beside one.
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        scaling_config=scaling,
        ignore_scaling_changes=True,  # the autoscaler owns desired size; Pulumi sets only min and max
        opts=args.target.child_options(parent),
    )


def _launch_template(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs, spec: _GroupSpec
) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, one hop: a pod (one hop further than its node) cannot reach the instance metadata service, so it
    cannot take the node role's credentials; pods get their own through IRSA. Host-network pods (the VPC CNI,
    kube-proxy) are on the node and keep it.

    EKS's own template for a managed node group, and pulumi-eks's with enableIMDSv2, set a hop limit of 2
    (pulumi-eks nodejs/eks/nodes/nodegroup.ts, createMNGCustomLaunchTemplate; AL2023 AMIs default to 2 as well):
    the limit of 1 is what AWS's EKS best practices ask for ("Restrict access to the instance profile assigned to
    the worker node", read 2026-12). The template carries the root volume size too (AL2023's root is /dev/xvda).
    """
    disks: list[aws.ec2.LaunchTemplateBlockDeviceMappingArgsDict] | None = None
    if spec.data_snapshot:  # Bottlerocket: the images live on the data volume, not the root
        disks = [image_cache.data_volume(spec.data_snapshot, spec.disk_size or GPU_DISK_GIB)]
    elif spec.disk_size:
        disks = [{"device_name": ROOT_DEVICE, "ebs": {"volume_size": spec.disk_size}}]
    return aws.ec2.LaunchTemplate(
        f"{name}-{spec.group}-nodes",
        description=f"EKS managed node group {spec.group}: IMDSv2 with hop limit {IMDS_HOP_LIMIT}",
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": IMDS_HOP_LIMIT,
        },
        block_device_mappings=disks,
        update_default_version=True,
        opts=args.target.child_options(parent),
    )


def _asg_name(
    args: GpuClusterArgs, cluster_name: str, node_group_name: str, group: pulumi.Resource
) -> pulumi.Output[str]:
    """The Auto Scaling group EKS made for a managed node group, read once the group exists.

    ManagedNodeGroup's `nodeGroup` output holds it too, but as a reference to the underlying
    aws.eks.NodeGroup, which preflight's mock engine cannot read back. The lookup waits for the
    group (depends_on); in a preview before the group exists it is unknown, as outputs are.
    """
    found = aws.eks.get_node_group_output(
        cluster_name=cluster_name,
        node_group_name=node_group_name,
        opts=pulumi.InvokeOutputOptions(provider=args.target.provider, depends_on=[group]),
    )
    return found.apply(lambda node_group: node_group.resources[0].autoscaling_groups[0].name)
