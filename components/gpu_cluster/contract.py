"""The GpuCluster contract: the same Args and outputs on every cloud."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.maintenance import MaintenanceWindow
from components.scheduling import gpu_labels, gpu_taints
from components.target import Target


@dataclass(frozen=True)
class SystemPool:
    """Small nodes for cluster add-ons (autoscaler, DNS, Prometheus, the gateway); on demand unless `spot`."""

    machine_type: str
    min_nodes: int = 1
    max_nodes: int = 3
    spot: bool = False
    """EKS and GKE: spot system nodes (a dev saving: a reclaim restarts the add-ons). AKS refuses spot here."""


# AKS takes a spot price cap of -1 (up to the on-demand price; None here) or a positive USD price with up to
# five decimals (learn.microsoft.com/azure/aks/spot-node-pool, "Limitations", read 2026-12).
SPOT_PRICE_DECIMALS = 5


def spot_max_price_problem(price: float) -> str | None:
    """Why AKS would refuse this spot price cap, or None. One rule: the stack config and the component both ask it."""
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        return f"expected a price in USD per node-hour, got {price!r}"
    if price != price or price in (float("inf"), float("-inf")):
        return f"must be a finite price in USD per node-hour, got {price}"
    if price <= 0:
        return f"must be above 0 (leave it out to pay up to the on-demand price), got {price}"
    if round(price, SPOT_PRICE_DECIMALS) != price:
        return f"AKS takes at most {SPOT_PRICE_DECIMALS} decimals, got {price}"
    return None


@dataclass(frozen=True)
class GpuPool:
    """A GPU node pool. All machine types in it must be alike (the autoscaler assumes so)."""

    name: str
    accelerator: str  # T4, L4, A10G, A10, A100, H100
    machine_types: tuple[str, ...]
    min_nodes: int = 0
    max_nodes: int = 2
    spot: bool = True
    spot_max_price: float | None = None
    """Azure only: the most to pay per node-hour in USD; None means -1 (up to the on-demand price)."""
    fallback: bool = False
    """The on-demand pool the autoscaler turns to only when no spot pool can grow; min 0."""
    on_demand_reason: str = ""
    """Why an on-demand pool that is no fallback runs on demand (a label value); the policy pack requires it."""
    training: bool = False
    """A training pool (or its fallback): its nodes carry the training taint, which only Kueue-admitted jobs
    tolerate."""

    @property
    def labels(self) -> dict[str, str]:
        return gpu_labels(self.name, self.accelerator, self.spot, self.fallback, self.on_demand_reason)

    @property
    def taints(self) -> tuple[tuple[str, str, str], ...]:
        """(key, value, Kubernetes effect) of each taint on the pool's nodes; each cloud spells the effect its way."""
        return gpu_taints(self.training)


@dataclass(frozen=True)
class ClusterAccess:
    """An IAM role (AWS) that may use a cluster's Kubernetes API, as an EKS access entry."""

    name: str  # unique per cluster: deploy, preview, operator-1 ...
    principal_arn: str
    admin: bool
    """True: cluster admin (AmazonEKSClusterAdminPolicy); False: read everything, Secrets too."""


@dataclass(frozen=True)
class GpuClusterArgs:
    """Defaults are cheap (dev); the prod profile turns on zones, NAT per zone and protection."""

    target: Target
    kubernetes_version: str
    system_pool: SystemPool
    gpu_pools: tuple[GpuPool, ...]
    network_cidr: str = "10.0.0.0/16"
    zones: int = 2
    """Availability zones the nodes (and the AWS subnets) span: 2 in dev, 3 in prod."""
    nat_per_zone: bool = False
    """AWS: one NAT gateway per zone (prod) instead of one shared NAT (dev)."""
    public_nodes: bool = False
    """AWS: nodes take a public IPv4 address each and leave through the internet gateway, with no NAT gateway
    (a dev saving: nodes are addressable from the internet, their security group still refuses callers)."""
    regional: bool = False
    """GKE: a regional control plane (prod) instead of a zonal one (dev)."""
    deletion_protection: bool = False
    control_plane_logs: bool = False
    control_plane_log_days: int = 90
    customer_managed_key: bool = False
    """Kubernetes Secrets encrypted under a key the stack owns: EKS envelope encryption with a KMS key, GKE
    application-layer secrets encryption with a Cloud KMS key (mlplatform:encryption). AKS: not yet."""
    """EKS: days CloudWatch keeps the control-plane logs (a CloudWatch retention value); see stacks/audit_config.py."""
    api_allowed_cidrs: tuple[str, ...] = ()
    """CIDRs that may reach the public Kubernetes API endpoint; empty means anyone (dev only)."""
    local_accounts: bool = True
    """AKS: False turns local accounts off (Entra ID only; kubeconfigs then use kubelogin)."""
    admin_group_object_ids: tuple[str, ...] = ()
    """AKS with Entra ID: the groups that are cluster admins."""
    access: tuple[ClusterAccess, ...] = ()
    """EKS: the IAM roles given access entries (the deploy, preview and operators' roles)."""
    maintenance_window: MaintenanceWindow | None = None
    """GKE: when the cloud may upgrade the control plane and nodes by itself; None: any time."""
    gke_image_cache_disk: str | None = None
    """GKE: a disk image holding the Triton image, given to every GPU node as a secondary boot disk (container
    image cache, with image streaming on) so a new node does not pull it (stacks/image_cache_config.py)."""
    eks_image_snapshot: str | None = None
    """EKS: an EBS snapshot of a Bottlerocket data volume holding the Triton image: the GPU node groups run
    Bottlerocket with their data volume made from it (aws_image_cache.py). None: AL2023, the image is pulled."""
    cluster_labels: tuple[tuple[str, str], ...] = ()
    """GKE: resource labels on the cluster itself, such as the stack's declared free tier credit
    (pricing/credits.py), which the bill shows and `preflight cost` prices."""


@dataclass(frozen=True)
class WorkloadIdentity:
    """What a later component needs to let a Kubernetes service account reach a cloud resource."""

    oidc_issuer_url: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str] | None = None  # AWS: the IAM OIDC provider (IRSA)
    workload_pool: pulumi.Output[str] | None = None
    """GCP: the cluster's workload pool ("<project>.svc.id.goog"), from the cluster's output, so a
    grant to one of its principals waits for the cluster that creates the pool."""


@dataclass(frozen=True)
class ClusterNetwork:
    """What later components need to live beside the cluster (the metadata database)."""

    network_id: pulumi.Output[str]  # AWS VPC id, GCP network self link, Azure VNet id
    private_subnet_ids: pulumi.Output[list[str]]
    """AWS private subnets; GCP the node subnet; Azure the subnet delegated to PostgreSQL."""
    node_security_group_id: pulumi.Output[str] | None = None  # AWS: the nodes' security group


@dataclass(frozen=True)
class ClusterOutputs:
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # a secret
    k8s_provider: k8s.Provider
    identity: WorkloadIdentity
    network: ClusterNetwork
    node_identity: pulumi.Output[str]
    """Who the nodes (kubelet) are, for image pull grants: AWS node role ARN, GCP node service
    account email, AKS kubelet identity object id."""
    resource_id: pulumi.Output[str] | None = None
    """AKS: the cluster's ARM id, which its audit log's diagnostic setting hangs off (components/audit)."""
