"""The EKS VPC: private subnets for nodes and databases, public subnets for load balancers, NAT egress.

Layout of `args.network_cidr` (a /16 gives): the first quarters are the private subnets, one
per zone (/18: the VPC CNI gives every pod a VPC address, so nodes need room); the last
quarter is cut into small public subnets (/22), which hold only NAT gateways and load
balancers. At most three zones fit that layout.
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
    zones = _zone_names(args)

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
        _subnet(name, f"private-{i}", vpc, cidr, zones[i], {INTERNAL_ELB_TAG: "1"}, opts)
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

    nats = _nat_gateways(name, public if args.nat_per_zone else public[:1], gateway, opts)
    for i, subnet in enumerate(private):
        # One route table per zone either way, so turning on nat_per_zone only changes routes.
        nat = nats[i] if args.nat_per_zone else nats[0]
        routes = aws.ec2.RouteTable(
            f"{name}-private-{i}",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=routes.id, opts=opts)

    return Network(
        vpc_id=vpc.id,
        private_subnet_ids=[subnet.id for subnet in private],
        public_subnet_ids=[subnet.id for subnet in public],
    )


def _zone_names(args: GpuClusterArgs) -> list[pulumi.Output[str]]:
    """The first `args.zones` zones the region has, asked of AWS: some regions skip letters."""
    found = aws.get_availability_zones_output(
        state="available",
        filters=[REGULAR_ZONES_FILTER],
        region=args.target.region,  # the provider's own region, named so the lookup (and its mock) show it
        opts=pulumi.InvokeOutputOptions(provider=args.target.provider),
    )
    names = found.names.apply(lambda names: _first_zones(args.target.region, list(names), args.zones))
    return [names.apply(_nth(i)) for i in range(args.zones)]


def _nth(i: int) -> Callable[[list[str]], str]:
    return lambda items: items[i]


def _first_zones(region: str, names: list[str], zones: int) -> list[str]:
    if len(names) < zones:
        raise ValueError(f"{region} has {len(names)} availability zones; the cluster asks for {zones}")
    return sorted(names)[:zones]


def _subnet(
    name: str,
    suffix: str,
    vpc: aws.ec2.Vpc,
    cidr: str,
    zone: pulumi.Output[str],
    role_tag: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.Subnet:
    return aws.ec2.Subnet(
        f"{name}-{suffix}",
        vpc_id=vpc.id,
        cidr_block=cidr,
        availability_zone=zone,
        map_public_ip_on_launch=False,  # nothing here needs a public address of its own
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
