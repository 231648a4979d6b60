"""Azure implementation: AKS with Azure CNI Overlay + Cilium, Entra ID, a tainted system pool, spot GPU pools.

Spot strategy: every spot GPU pool is a Spot VM scale set (Delete on eviction, price cap or -1)
that autoscales from zero; each has an on-demand fallback pool, also from zero. The managed
cluster autoscaler's priority expander grows the spot pools first and the fallback pools only
when no spot pool can (see azure_autoscaler). AKS itself taints spot nodes with
`kubernetes.azure.com/scalesetpriority=spot:NoSchedule` (scheduling.AKS_SPOT_TAINT).

Identity: Entra ID integration with Azure RBAC; with local accounts off (prod) the kubeconfig
is the user kubeconfig in `exec` format, which authenticates through kubelogin.

Order: the control plane runs as a user-assigned identity that holds its grant on the node subnet
before the cluster is created (AKS's recommendation for a VNet of your own), and the GPU pools are
created one after another: AKS refuses a second agent-pool operation while one is running (409
OperationNotAllowed) and parallel pools on one subnet have failed with SetVNetOwnershipFailed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice, managedidentity, network
from pulumi_azure_native.containerservice import outputs as aks_outputs

from components.gpu_cluster.azure_autoscaler import autoscaler_profile, priority_expander_configmap
from components.gpu_cluster.azure_network import (
    DNS_SERVICE_IP,
    POD_CIDR,
    SERVICE_CIDR,
    build_network,
    grant_subnet_access,
)
from components.gpu_cluster.contract import (
    ClusterNetwork,
    ClusterOutputs,
    GpuClusterArgs,
    GpuPool,
    WorkloadIdentity,
    spot_max_price_problem,
)
from components.scheduling import system_labels

SYSTEM_POOL_NAME = "system"
# Keeps user workloads off the system pool; AKS's own add-ons tolerate it, and the platform's
# add-ons (Prometheus, the gateway) must tolerate it too. Source: learn.microsoft.com/azure/aks/use-system-pools
CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly=true:NoSchedule"
MAX_ZONES = 3
KUBELET_IDENTITY = "kubeletidentity"

# AKS naming rules: Linux agent pools 1-12 lowercase letters and digits, a letter first
# (learn.microsoft.com/azure/aks/use-system-pools); the cluster's DNS prefix 1-54 letters,
# digits and hyphens, starting and ending with a letter or digit.
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_CLUSTER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,52}[a-z0-9])?$")


def build(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> ClusterOutputs:
    _check_args(name, args)
    vnet = build_network(parent, name, args)
    identity = _control_plane_identity(parent, name, args)
    grant = grant_subnet_access(parent, name, args, vnet.nodes, identity.principal_id)
    cluster = _managed_cluster(parent, name, args, vnet.nodes, identity, grant)
    previous: containerservice.AgentPool | None = None
    for pool in args.gpu_pools:
        previous = _gpu_pool(parent, name, args, cluster, vnet.nodes, pool, after=previous)

    kubeconfig = _kubeconfig(parent, args, cluster)
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=parent))
    priority_expander_configmap(parent, name, provider, SYSTEM_POOL_NAME, args.gpu_pools)

    return ClusterOutputs(
        cluster_name=cluster.name,
        kubeconfig=kubeconfig,
        k8s_provider=provider,
        identity=WorkloadIdentity(oidc_issuer_url=cluster.oidc_issuer_profile.apply(_issuer_url)),
        network=ClusterNetwork(
            network_id=vnet.vnet.id,
            private_subnet_ids=vnet.database.id.apply(lambda subnet_id: [subnet_id]),
        ),
        node_identity=cluster.identity_profile.apply(_kubelet_object_id),
        resource_id=cluster.id,
    )


def _check_args(name: str, args: GpuClusterArgs) -> None:
    """Refuse what AKS would refuse, before anything is planned."""
    if not _CLUSTER_NAME.match(name):
        raise ValueError(f"cluster {name!r}: AKS needs 1-54 lowercase letters, digits or hyphens (its DNS prefix)")
    if not 0 <= args.zones <= MAX_ZONES:
        raise ValueError(f"cluster {name!r}: zones must be 0 (a region without zones) to {MAX_ZONES}, got {args.zones}")
    system = args.system_pool
    if not 1 <= system.min_nodes <= system.max_nodes:
        raise ValueError(f"cluster {name!r}: the system pool needs 1 <= min_nodes <= max_nodes")
    if system.spot:  # learn.microsoft.com/azure/aks/spot-node-pool, "Limitations" (read 2026-12)
        raise ValueError(f"cluster {name!r}: AKS system pools cannot be spot")
    names = [SYSTEM_POOL_NAME]
    for pool in args.gpu_pools:
        _check_pool(name, pool)
        if pool.name in names:
            raise ValueError(f"cluster {name!r}: pool name {pool.name!r} is used twice (or is the system pool's)")
        names.append(pool.name)


def _check_pool(cluster: str, pool: GpuPool) -> None:
    where = f"cluster {cluster!r}, pool {pool.name!r}"
    if not _POOL_NAME.match(pool.name):
        raise ValueError(f"{where}: AKS pool names are 1-12 lowercase letters or digits, a letter first")
    if len(pool.machine_types) != 1:
        raise ValueError(f"{where}: an AKS agent pool takes exactly one VM size, got {list(pool.machine_types)}")
    if pool.fallback and pool.spot:
        raise ValueError(f"{where}: a fallback pool is on-demand; set spot=False")
    if pool.spot_max_price is not None:
        if not pool.spot:
            raise ValueError(f"{where}: spot_max_price needs spot=True")
        problem = spot_max_price_problem(pool.spot_max_price)
        if problem:
            raise ValueError(f"{where}: spot_max_price {problem}")
    if not 0 <= pool.min_nodes <= pool.max_nodes:
        raise ValueError(f"{where}: need 0 <= min_nodes <= max_nodes, got {pool.min_nodes}..{pool.max_nodes}")


def _zones(args: GpuClusterArgs) -> list[str] | None:
    """Zones "1".."N"; None in a region without availability zones (AKS then picks no zone)."""
    return [str(zone) for zone in range(1, args.zones + 1)] or None


def _control_plane_identity(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs
) -> managedidentity.UserAssignedIdentity:
    """The identity the control plane acts as (load balancers, the node subnet).

    A system-assigned identity exists only once the cluster does, so its subnet grant comes after
    the cluster's creation and the first operations race it; a user-assigned one is granted first.
    Kept like the cluster: a kept cluster whose identity is gone cannot manage its network.
    Source: learn.microsoft.com/azure/aks/managed-identity-overview (read 2026-12).
    """
    target = args.target
    return managedidentity.UserAssignedIdentity(
        f"{name}-control-plane",
        resource_name_=f"{name}-control-plane",
        resource_group_name=target.require_resource_group(),
        location=target.region,
        opts=target.child_options(parent, keep=args.deletion_protection),
    )


def _managed_cluster(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    nodes: network.Subnet,
    identity: managedidentity.UserAssignedIdentity,
    subnet_grant: pulumi.Resource,
) -> containerservice.ManagedCluster:
    target = args.target
    # The autoscaler owns node counts; `count` only seeds the pool at creation.
    opts = pulumi.ResourceOptions.merge(
        target.child_options(parent, keep=args.deletion_protection),
        pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[0].count"], depends_on=[subnet_grant]),
    )
    return containerservice.ManagedCluster(
        name,
        resource_name_=name,
        resource_group_name=target.require_resource_group(),
        location=target.region,
        kubernetes_version=args.kubernetes_version,
        dns_prefix=name,
        # One user-assigned identity at most; the SDK takes its resource id.
        identity={
            "type": containerservice.ResourceIdentityType.USER_ASSIGNED,
            "user_assigned_identities": [identity.id],
        },
        sku={
            "name": containerservice.ManagedClusterSKUName.BASE,
            # Standard carries the uptime SLA that prod needs; Free has none.
            "tier": (
                containerservice.ManagedClusterSKUTier.STANDARD
                if args.deletion_protection
                else containerservice.ManagedClusterSKUTier.FREE
            ),
        },
        enable_rbac=True,
        aad_profile={
            "managed": True,
            "enable_azure_rbac": True,
            "admin_group_object_ids": list(args.admin_group_object_ids),
        },
        disable_local_accounts=not args.local_accounts,
        # An empty list leaves the public endpoint open (dev); prod lists its CIDRs.
        api_server_access_profile={"authorized_ip_ranges": list(args.api_allowed_cidrs)},
        oidc_issuer_profile={"enabled": True},
        security_profile={"workload_identity": {"enabled": True}},
        network_profile=_network_profile(),
        # "patch" keeps the configured minor version and applies its patches; "stable" would
        # move the minor version away from args.kubernetes_version on its own.
        auto_upgrade_profile={
            "upgrade_channel": containerservice.UpgradeChannel.PATCH,
            "node_os_upgrade_channel": containerservice.NodeOSUpgradeChannel.NODE_IMAGE,
        },
        auto_scaler_profile=autoscaler_profile(),
        agent_pool_profiles=[_system_pool_profile(args, nodes)],
        opts=opts,
    )


def _network_profile() -> containerservice.ContainerServiceNetworkProfileArgsDict:
    """Azure CNI Overlay powered by Cilium: Cilium enforces network policy, no separate engine.

    networkPolicy "cilium" requires networkDataplane "cilium"; Azure NPM is being retired on
    Linux (2028) and the AKS docs recommend Cilium. Sources: learn.microsoft.com/azure/aks/
    azure-cni-powered-by-cilium, .../use-network-policies, the API's NetworkPolicy enum.
    The service CIDR is set explicitly: the API's default (10.0.0.0/16) is the VNet's default too.
    """
    return {
        "network_plugin": containerservice.NetworkPlugin.AZURE,
        "network_plugin_mode": containerservice.NetworkPluginMode.OVERLAY,
        "network_dataplane": containerservice.NetworkDataplane.CILIUM,
        "network_policy": containerservice.NetworkPolicy.CILIUM,
        "pod_cidr": POD_CIDR,
        "service_cidr": SERVICE_CIDR,
        "dns_service_ip": DNS_SERVICE_IP,
        "load_balancer_sku": containerservice.LoadBalancerSku.STANDARD,  # spot pools need Standard
        "outbound_type": containerservice.OutboundType.LOAD_BALANCER,
    }


def _system_pool_profile(
    args: GpuClusterArgs, nodes: network.Subnet
) -> containerservice.ManagedClusterAgentPoolProfileArgsDict:
    """The System-mode pool a cluster must be created with; on-demand, tainted for add-ons only."""
    system = args.system_pool
    return {
        "name": SYSTEM_POOL_NAME,
        "mode": containerservice.AgentPoolMode.SYSTEM,
        "type": containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        "os_type": containerservice.OSType.LINUX,  # system pools must be Linux
        "vm_size": system.machine_type,
        "orchestrator_version": args.kubernetes_version,
        "enable_auto_scaling": True,
        "min_count": system.min_nodes,
        "max_count": system.max_nodes,
        "count": system.min_nodes,
        "availability_zones": _zones(args),
        "vnet_subnet_id": nodes.id,
        "node_labels": system_labels(),
        "node_taints": [CRITICAL_ADDONS_TAINT],
    }


def _gpu_pool(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster: containerservice.ManagedCluster,
    nodes: network.Subnet,
    pool: GpuPool,
    after: containerservice.AgentPool | None,
) -> containerservice.AgentPool:
    """A User-mode GPU pool that scales from zero; spot unless it is on-demand (fallback).

    Only the GPU taint is declared: AKS adds the spot taint and label to spot pools by itself.
    Source: learn.microsoft.com/azure/aks/spot-node-pool (limitations; `az aks nodepool show`).
    `after` is the pool created before this one: one agent-pool operation at a time per cluster
    (409 "Another agentpool operation is in progress": github.com/cilium/cilium/issues/25944,
    retried in github.com/Azure/telescope/pull/1213, 2026) and per VNet (SetVNetOwnershipFailed:
    github.com/Azure/AKS/issues/4522).
    """
    opts = pulumi.ResourceOptions.merge(
        args.target.child_options(parent),
        pulumi.ResourceOptions(ignore_changes=["count"], depends_on=[after] if after is not None else None),
    )
    return containerservice.AgentPool(
        f"{name}-{pool.name}",
        agent_pool_name=pool.name,
        resource_name_=cluster.name,
        resource_group_name=args.target.require_resource_group(),
        mode=containerservice.AgentPoolMode.USER,
        type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,  # spot needs scale sets
        os_type=containerservice.OSType.LINUX,
        vm_size=pool.machine_types[0],
        orchestrator_version=args.kubernetes_version,
        enable_auto_scaling=True,
        min_count=pool.min_nodes,
        max_count=pool.max_nodes,
        count=pool.min_nodes,
        availability_zones=_zones(args),
        vnet_subnet_id=nodes.id,
        node_labels=pool.labels,
        node_taints=[f"{key}={value}:{effect}" for key, value, effect in pool.taints],
        # Eviction policy and max price may only be sent for Spot pools: None leaves them out.
        scale_set_priority=(
            containerservice.ScaleSetPriority.SPOT if pool.spot else containerservice.ScaleSetPriority.REGULAR
        ),
        scale_set_eviction_policy=containerservice.ScaleSetEvictionPolicy.DELETE if pool.spot else None,
        spot_max_price=_spot_max_price(pool),
        opts=opts,
    )


def _spot_max_price(pool: GpuPool) -> float | None:
    """-1 pays up to the on-demand price and is never evicted for price. Source: spot-node-pool."""
    if not pool.spot:
        return None
    return -1.0 if pool.spot_max_price is None else pool.spot_max_price


def _kubeconfig(
    parent: pulumi.ComponentResource, args: GpuClusterArgs, cluster: containerservice.ManagedCluster
) -> pulumi.Output[str]:
    """Admin (certificate) kubeconfig with local accounts; else the Entra ID one through kubelogin.

    Asked after the cluster exists (its name output, depends_on), so a preview of a new cluster
    does not call Azure for credentials that cannot exist yet.
    """
    opts = pulumi.InvokeOutputOptions(parent=parent, provider=args.target.provider, depends_on=[cluster])
    group = args.target.require_resource_group()
    if args.local_accounts:
        admin = containerservice.list_managed_cluster_admin_credentials_output(
            resource_group_name=group, resource_name=cluster.name, opts=opts
        )
        encoded = admin.apply(lambda result: _first_kubeconfig(result.kubeconfigs))
    else:
        user = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=group, resource_name=cluster.name, format="exec", opts=opts
        )
        encoded = user.apply(lambda result: _first_kubeconfig(result.kubeconfigs))
    return pulumi.Output.secret(encoded)


def _first_kubeconfig(kubeconfigs: Sequence[aks_outputs.CredentialResultResponse]) -> str:
    """The API returns kubeconfigs base64-encoded."""
    if not kubeconfigs:
        raise ValueError("AKS returned no kubeconfig")
    return base64.b64decode(kubeconfigs[0].value).decode("utf-8")


def _issuer_url(profile: aks_outputs.ManagedClusterOIDCIssuerProfileResponse | None) -> str:
    if profile is None or not profile.issuer_url:
        raise ValueError("the AKS cluster reported no OIDC issuer URL")
    return profile.issuer_url


def _kubelet_object_id(
    profile: Mapping[str, aks_outputs.UserAssignedIdentityManagedClusterResponse] | None,
) -> str:
    identity = (profile or {}).get(KUBELET_IDENTITY)
    if identity is None or not identity.object_id:
        raise ValueError("the AKS cluster reported no kubelet identity")
    return identity.object_id
