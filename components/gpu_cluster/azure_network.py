"""The AKS cluster's network: one VNet, a node subnet and a subnet delegated to PostgreSQL.

Pods do not take VNet addresses (Azure CNI Overlay gives them POD_CIDR), so the node subnet
only needs one address per node. The database subnet is delegated to PostgreSQL flexible
servers now, so the metadata database a later component adds needs no change to this network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, network

from components.gpu_cluster.contract import GpuClusterArgs

# Overlay pod addresses and Kubernetes service addresses: private ranges outside every VNet the
# platform uses. The overlay docs require the pod CIDR not to overlap the cluster subnet or any
# connected network, and the service CIDR to be smaller than /12 and overlap neither.
# Source: learn.microsoft.com/azure/aks/concepts-network-azure-cni-overlay
POD_CIDR = "10.244.0.0/14"  # one /24 per node: room for 1024 nodes
SERVICE_CIDR = "10.96.0.0/16"
DNS_SERVICE_IP = "10.96.0.10"

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
# Built-in "Network Contributor" role (the same id in every tenant).
NETWORK_CONTRIBUTOR_ROLE = "4d97b98b-1d4f-4787-a291-c67834d212e7"
MAX_NETWORK_PREFIX = 24  # quarters of at least /26: enough for nodes and a database


@dataclass(frozen=True)
class SubnetPlan:
    """Address ranges carved from the VNet: a quarter each, the second half left for later subnets."""

    vnet: str
    nodes: str
    database: str


def plan_subnets(network_cidr: str) -> SubnetPlan:
    """Split the VNet and refuse ranges that would collide with the overlay's pod or service ranges."""
    try:
        vnet = ipaddress.ip_network(network_cidr, strict=True)
    except ValueError:
        raise ValueError(f"network_cidr {network_cidr!r} is not a CIDR block such as 10.0.0.0/16") from None
    if not isinstance(vnet, ipaddress.IPv4Network):
        raise ValueError(f"network_cidr {network_cidr!r}: the AKS VNet needs an IPv4 range")
    if vnet.prefixlen > MAX_NETWORK_PREFIX:
        raise ValueError(f"network_cidr {network_cidr!r} is too small: use /{MAX_NETWORK_PREFIX} or larger")
    for label, reserved in (("pod", POD_CIDR), ("service", SERVICE_CIDR)):
        if vnet.overlaps(ipaddress.ip_network(reserved)):
            raise ValueError(f"network_cidr {network_cidr!r} overlaps the cluster's {label} range {reserved}")
    quarters = list(vnet.subnets(prefixlen_diff=2))
    return SubnetPlan(vnet=str(vnet), nodes=str(quarters[0]), database=str(quarters[1]))


@dataclass(frozen=True)
class ClusterVnet:
    vnet: network.VirtualNetwork
    nodes: network.Subnet
    database: network.Subnet


def build_network(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> ClusterVnet:
    """The VNet with its subnets as separate resources, so a later component can add its own."""
    target = args.target
    resource_group = target.require_resource_group()
    kept = target.child_options(parent, keep=args.deletion_protection)
    ranges = plan_subnets(args.network_cidr)

    # No inline `subnets`: since API 2023-11-01 a VNet PUT without them leaves existing subnets alone.
    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        virtual_network_name=f"{name}-vnet",
        resource_group_name=resource_group,
        location=target.region,
        address_space={"address_prefixes": [ranges.vnet]},
        opts=kept,
    )
    nodes = network.Subnet(
        f"{name}-nodes",
        subnet_name="nodes",
        virtual_network_name=vnet.name,
        resource_group_name=resource_group,
        address_prefix=ranges.nodes,
        opts=kept,
    )
    # One subnet write at a time per VNet: Azure rejects concurrent updates to the same VNet.
    database = network.Subnet(
        f"{name}-database",
        subnet_name="database",
        virtual_network_name=vnet.name,
        resource_group_name=resource_group,
        address_prefix=ranges.database,
        delegations=[{"name": "postgres", "service_name": POSTGRES_DELEGATION}],
        opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[nodes])),
    )
    return ClusterVnet(vnet=vnet, nodes=nodes, database=database)


def grant_subnet_access(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    subnet: network.Subnet,
    principal_id: pulumi.Output[str],
) -> authorization.RoleAssignment:
    """Network Contributor on the node subnet for the cluster's control-plane identity.

    The VNet lives outside the node resource group, so AKS cannot join nodes to the subnet or
    manage load balancer IPs in it without this grant; `az aks create` makes it, the ARM API
    leaves it to the caller. The identity is user-assigned and granted here before the cluster
    exists (the cluster depends on this assignment), so no cluster operation runs without it.
    A narrower custom role needs only Microsoft.Network/virtualNetworks/subnets/join/action and
    .../subnets/read. principalType ServicePrincipal lets Azure accept the assignment of an
    identity created moments before, without waiting for Entra ID to replicate it.
    Sources: learn.microsoft.com/azure/aks/managed-identity-overview,
    learn.microsoft.com/azure/aks/aks-service-permissions, learn.microsoft.com/azure/
    role-based-access-control/role-assignments-template (new service principal) (read 2026-12).
    """
    subscription = subnet.id.apply(_subscription_of)
    return authorization.RoleAssignment(
        f"{name}-subnet-network-contributor",
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,  # the SDK's default is User
        role_definition_id=subscription.apply(_network_contributor),
        scope=subnet.id,
        # Kept with the cluster: a kept cluster without its grant can no longer manage its subnet.
        opts=args.target.child_options(parent, keep=args.deletion_protection),
    )


def _network_contributor(subscription: str) -> str:
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE}"


def _subscription_of(resource_id: str) -> str:
    """'/subscriptions/S/resourceGroups/...' -> 'S'."""
    parts = resource_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource id: {resource_id!r}")
    return parts[2]
