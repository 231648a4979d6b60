"""The EKS VPC: private subnets for nodes and databases, public subnets for load balancers, NAT egress.

Layout of `args.network_cidr` (a /16 gives): the first quarters are the private subnets, one
per zone (/18: the VPC CNI gives every pod a VPC address, so nodes need room); the last
quarter is cut into small public subnets (/22), which hold only NAT gateways and load
balancers. At most three zones fit that layout.

Zones are chosen by zone ID, never by name: names map to different physical zones in each
account, IDs do not, and EKS refuses cluster subnets in a few zone IDs. The network takes the
first `args.zones` zone IDs of the region that EKS supports (sorted, so a later run never moves
a subnet); each GPU node group then spans only those of them where EC2 offers every one of its
instance types (DescribeInstanceTypeOfferings by zone ID, asked at deploy time).

A dev stack may choose public nodes instead (GpuClusterArgs.public_nodes): the node subnets give each node a
public address and route to the internet gateway, and no NAT gateway is made (docs/COST.md).

S3 traffic (model downloads, the model sync) leaves through a gateway endpoint on the private
route tables, not through NAT: gateway endpoints cost nothing, NAT charges per GB processed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.gpu_cluster.contract import GpuClusterArgs

MIN_ZONES = 2  # EKS wants the control plane's subnets in at least two zones
MAX_ZONES = 3  # private subnets take a quarter each; the last quarter is the public one
PRIVATE_EXTRA_BITS = 2  # a quarter of the network per private subnet
PUBLIC_EXTRA_BITS = 4  # a sixteenth of the last quarter per public subnet
SMALLEST_SUBNET_PREFIX = 28  # AWS rejects subnets smaller than /28
# The subnet tags the AWS Load Balancer Controller (and the in-tree controller) discover subnets by.
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
# Zone IDs where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException). Sources:
# Amazon EKS User Guide, "View Amazon EKS networking requirements for VPC and subnets"
# (docs.aws.amazon.com/eks/latest/userguide/network-reqs.html), and the same list in eksctl
# (github.com/eksctl-io/eksctl, pkg/az/az.go, zoneIDsToAvoid); read 2026-12.
EKS_UNSUPPORTED_ZONE_IDS: dict[str, str] = {
    "us-east-1": "use1-az3",
    "us-west-1": "usw1-az2",
    "ca-central-1": "cac1-az3",
}
# Only real availability zones: Local and Wavelength Zones (opt-in) have no managed node groups.
REGULAR_ZONES_FILTER: aws.GetAvailabilityZonesFilterArgsDict = {
    "name": "opt-in-status",
    "values": ["opt-in-not-required"],
}


@dataclass(frozen=True)
class Network:
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    zone_ids: pulumi.Output[list[str]]
    """The zone ID of each private (and public) subnet, in the same order."""
    offered: pulumi.Output[dict[str, list[str]]]
    """Each GPU instance type of the cluster -> the zone IDs of the region where EC2 offers it."""


def subnet_cidrs(network_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private, public) CIDRs for `zones` zones, carved from the network the same way every run."""
    if not MIN_ZONES <= zones <= MAX_ZONES:
        raise ValueError(f"an EKS network spans {MIN_ZONES} to {MAX_ZONES} zones, got {zones}")
    network = ipaddress.IPv4Network(network_cidr)  # a VPC's primary CIDR is IPv4
    public_prefix = network.prefixlen + PRIVATE_EXTRA_BITS + PUBLIC_EXTRA_BITS
    if public_prefix > SMALLEST_SUBNET_PREFIX:
        raise ValueError(f"network {network_cidr} is too small: public subnets would be /{public_prefix}")
    quarters = list(network.subnets(prefixlen_diff=PRIVATE_EXTRA_BITS))
    public = list(quarters[-1].subnets(prefixlen_diff=PUBLIC_EXTRA_BITS))
    return [str(net) for net in quarters[:zones]], [str(net) for net in public[:zones]]


def build_network(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> Network:
    opts = args.target.child_options(parent)
    private_cidrs, public_cidrs = subnet_cidrs(args.network_cidr, args.zones)
    zone_ids = _zone_ids(args)
    zones = [zone_ids.apply(_nth(i)) for i in range(args.zones)]

    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=args.network_cidr,
        enable_dns_support=True,  # both are required for the private API endpoint
        enable_dns_hostnames=True,
        opts=opts,
    )
    public = [
        _subnet(name, f"public-{i}", vpc, cidr, zones[i], {PUBLIC_ELB_TAG: "1"}, opts)
        for i, cidr in enumerate(public_cidrs)
    ]
    private = [
        _subnet(name, f"private-{i}", vpc, cidr, zones[i], {INTERNAL_ELB_TAG: "1"}, opts, public_ip=args.public_nodes)
        for i, cidr in enumerate(private_cidrs)
    ]

    gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=opts)
    public_routes = aws.ec2.RouteTable(
        f"{name}-public",
        vpc_id=vpc.id,
        routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
        opts=opts,
    )
    for i, subnet in enumerate(public):
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=opts
        )

    # Public nodes (a dev choice) leave through the internet gateway with their own addresses: no NAT gateway.
    nats = [] if args.public_nodes else _nat_gateways(name, public if args.nat_per_zone else public[:1], gateway, opts)
    private_tables = []
    for i, subnet in enumerate(private):
        # One route table per zone either way, so turning on nat_per_zone only changes routes.
        route: aws.ec2.RouteTableRouteArgsDict = (
            {"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}
            if not nats
            else {"cidr_block": "0.0.0.0/0", "nat_gateway_id": (nats[i] if args.nat_per_zone else nats[0]).id}
        )
        routes = aws.ec2.RouteTable(f"{name}-private-{i}", vpc_id=vpc.id, routes=[route], opts=opts)
        aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=routes.id, opts=opts)
        private_tables.append(routes)

    aws.ec2.VpcEndpoint(
        f"{name}-s3",
        vpc_id=vpc.id,
        service_name=f"com.amazonaws.{args.target.region}.s3",
        vpc_endpoint_type="Gateway",  # a route to S3's prefix list in each table; no hourly or per-GB charge
        route_table_ids=[table.id for table in private_tables],
        opts=opts,
    )

    return Network(
        vpc_id=vpc.id,
        private_subnet_ids=[subnet.id for subnet in private],
        public_subnet_ids=[subnet.id for subnet in public],
        zone_ids=zone_ids,
        offered=_offerings(args),
    )


def choose_zones(region: str, zone_ids: list[str], zones: int) -> list[str]:
    """The first `zones` zone IDs of the region that EKS supports, in ID order."""
    usable = sorted(zone for zone in zone_ids if zone != EKS_UNSUPPORTED_ZONE_IDS.get(region))
    if len(usable) < zones:
        supported = ", ".join(usable)
        raise ValueError(f"{region} has {len(usable)} zones EKS supports ({supported}); the cluster asks for {zones}")
    return usable[:zones]


def gpu_subnet_ids(
    network: Network, region: str, pool: str, machine_types: tuple[str, ...]
) -> pulumi.Output[list[str]]:
    """The private subnets whose zone offers every one of a GPU group's instance types.

    A group whose types no zone of the network offers is refused: EKS would create it and its
    Auto Scaling group would fail every launch.
    """

    def pick(values: list[object]) -> list[str]:
        zone_ids, offered, subnet_ids = values[0], values[1], values[2:]
        assert isinstance(zone_ids, list) and isinstance(offered, dict)
        chosen = [
            str(subnet)
            for zone, subnet in zip(zone_ids, subnet_ids, strict=True)
            if all(zone in offered.get(machine_type, []) for machine_type in machine_types)
        ]
        if not chosen:
            raise ValueError(
                f"GPU pool {pool!r}: EC2 offers {', '.join(machine_types)} in none of the cluster's zones"
                f" in {region} ({', '.join(zone_ids)}); pick other machine types, or leave this target out"
                " of the pool (gpuPools[].targets)"
            )
        return chosen

    return pulumi.Output.all(network.zone_ids, network.offered, *network.private_subnet_ids).apply(pick)


def _zone_ids(args: GpuClusterArgs) -> pulumi.Output[list[str]]:
    """The zones to build in, asked of AWS (regions differ in zone count and some skip numbers)."""
    found = aws.get_availability_zones_output(
        state="available",
        filters=[REGULAR_ZONES_FILTER],
        region=args.target.region,  # the provider's own region, named so the lookup (and its mock) show it
        opts=pulumi.InvokeOutputOptions(provider=args.target.provider),
    )
    return found.zone_ids.apply(lambda ids: choose_zones(args.target.region, list(ids), args.zones))


def _offerings(args: GpuClusterArgs) -> pulumi.Output[dict[str, list[str]]]:
    """Where in the region EC2 offers each GPU instance type of the cluster, by zone ID."""
    machine_types = sorted({machine_type for pool in args.gpu_pools for machine_type in pool.machine_types})
    if not machine_types:
        return pulumi.Output.from_input({})
    found = aws.ec2.get_instance_type_offerings_output(
        location_type="availability-zone-id",
        filters=[{"name": "instance-type", "values": machine_types}],
        region=args.target.region,
        opts=pulumi.InvokeOutputOptions(provider=args.target.provider),
    )

    def by_type(values: list[list[str]]) -> dict[str, list[str]]:
        offered: dict[str, list[str]] = {}
        for machine_type, zone in zip(values[0], values[1], strict=True):
            offered.setdefault(machine_type, []).append(zone)
        return offered

    return pulumi.Output.all(found.instance_types, found.locations).apply(by_type)


def _nth(i: int) -> Callable[[list[str]], str]:
    return lambda items: items[i]


def _subnet(
    name: str,
    suffix: str,
    vpc: aws.ec2.Vpc,
    cidr: str,
    zone_id: pulumi.Output[str],
    role_tag: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    public_ip: bool = False,
) -> aws.ec2.Subnet:
    return aws.ec2.Subnet(
        f"{name}-{suffix}",
        vpc_id=vpc.id,
        cidr_block=cidr,
        availability_zone_id=zone_id,  # the physical zone, the same in every account
        map_public_ip_on_launch=public_ip,  # only public nodes (GpuClusterArgs.public_nodes) need their own
        tags=role_tag,  # functional (load balancer discovery); the required tags come from the provider
        opts=opts,
    )


def _nat_gateways(
    name: str, subnets: list[aws.ec2.Subnet], gateway: aws.ec2.InternetGateway, opts: pulumi.ResourceOptions
) -> list[aws.ec2.NatGateway]:
    """A NAT gateway in each given public subnet; AWS wants the internet gateway attached first."""
    after_gateway = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[gateway]))
    nats = []
    for i, subnet in enumerate(subnets):
        address = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", opts=after_gateway)
        nats.append(
            aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                allocation_id=address.allocation_id,
                subnet_id=subnet.id,
                connectivity_type="public",
                opts=after_gateway,
            )
        )
    return nats
