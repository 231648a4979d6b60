"""The GKE cluster's network: a custom-mode VPC, one regional node subnet and Cloud NAT.

The nodes are private (no external IPs), so Cloud NAT is their only way to public
registries such as nvcr.io; Private Google Access lets them reach Google APIs (Artifact
Registry, GCS, logging) without NAT.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.gpu_cluster.contract import GpuClusterArgs

NODE_PREFIX = 20  # up to 4,092 node IPs in the subnet
POD_PREFIX = 14  # GKE's default pod range: 1,024 nodes at a /24 (110 pods) each
SERVICE_PREFIX = 20  # 4,096 ClusterIP services
CONTROL_PLANE_PREFIX = 28  # GKE requires a /28 for a private cluster's master_ipv4_cidr_block
# Pods and services live in secondary ranges outside network_cidr, so the rest of
# network_cidr stays free for what later lives beside the cluster (the metadata database).
_PRIVATE_SPACES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
_ILLEGAL = re.compile(r"[^a-z0-9-]+")

IPv4Network = ipaddress.IPv4Network


@dataclass(frozen=True)
class Ranges:
    nodes: IPv4Network
    pods: IPv4Network
    services: IPv4Network
    control_plane: IPv4Network  # the private cluster's control plane (a /28), the source of its webhook calls


@dataclass(frozen=True)
class NodeNetwork:
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    pods_range_name: str
    services_range_name: str
    ranges: Ranges


def gcp_name(text: str, max_length: int = 63) -> str:
    """A GCE/RFC 1035 name: lowercase letters, digits and '-', starting with a letter."""
    cleaned = _ILLEGAL.sub("-", text.lower()).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = f"n-{cleaned}"
    return cleaned[:max_length].rstrip("-")


def plan_ranges(network_cidr: str) -> Ranges:
    """Nodes get the first /20 of network_cidr (all of it if smaller); pods and services get the
    first private blocks of GKE's default sizes that overlap neither network_cidr nor each other."""
    try:
        network = ipaddress.IPv4Network(network_cidr)
    except ValueError as error:
        raise ValueError(f"network_cidr {network_cidr!r} is not an IPv4 CIDR: {error}") from None
    if not network.is_private:
        raise ValueError(f"network_cidr {network_cidr} must be a private (RFC 1918) range")
    if network.prefixlen > 24:
        raise ValueError(f"network_cidr {network_cidr} is too small for GKE nodes; use a /24 or larger")
    nodes = next(network.subnets(new_prefix=NODE_PREFIX)) if network.prefixlen < NODE_PREFIX else network
    pods = _first_free(POD_PREFIX, taken=[network])
    services = _first_free(SERVICE_PREFIX, taken=[network, pods])
    control_plane = _first_free(CONTROL_PLANE_PREFIX, taken=[network, pods, services])
    return Ranges(nodes=nodes, pods=pods, services=services, control_plane=control_plane)


def _first_free(prefix: int, taken: list[IPv4Network]) -> IPv4Network:
    for candidate in _candidates(prefix):
        if not any(candidate.overlaps(used) for used in taken):
            return candidate
    raise ValueError(f"no free private /{prefix} left beside {', '.join(map(str, taken))}")


def _candidates(prefix: int) -> Iterator[IPv4Network]:
    for space in _PRIVATE_SPACES:
        block = ipaddress.IPv4Network(space)
        if block.prefixlen <= prefix:
            yield from block.subnets(new_prefix=prefix)


def build_network(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> NodeNetwork:
    target = args.target
    ranges = plan_ranges(args.network_cidr)
    pods_range, services_range = gcp_name(f"{name}-pods"), gcp_name(f"{name}-services")
    network = gcp.compute.Network(
        f"{name}-vpc",
        project=target.gcp_project,
        auto_create_subnetworks=False,  # custom mode: only the subnet below
        routing_mode="REGIONAL",
        opts=target.child_options(parent),
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-nodes",
        project=target.gcp_project,
        region=target.region,
        network=network.id,
        ip_cidr_range=str(ranges.nodes),
        secondary_ip_ranges=[
            {"range_name": pods_range, "ip_cidr_range": str(ranges.pods)},
            {"range_name": services_range, "ip_cidr_range": str(ranges.services)},
        ],
        private_ip_google_access=True,
        opts=target.child_options(parent),
    )
    _cloud_nat(parent, name, args, network)
    return NodeNetwork(network, subnetwork, pods_range, services_range, ranges)


def _cloud_nat(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs, network: gcp.compute.Network) -> None:
    """Egress for private nodes (image pulls from nvcr.io, Docker Hub); addresses allocated by Google."""
    target = args.target
    router = gcp.compute.Router(
        f"{name}-router",
        project=target.gcp_project,
        region=target.region,
        network=network.id,
        opts=target.child_options(parent),
    )
    gcp.compute.RouterNat(
        f"{name}-nat",
        project=target.gcp_project,
        region=target.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        # The network holds only the node subnet; pods' secondary range is translated too.
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config={"enable": True, "filter": "ERRORS_ONLY"},
        opts=target.child_options(parent),
    )
