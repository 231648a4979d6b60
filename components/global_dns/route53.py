"""Route 53 implementation of GlobalDns: a health check and a name per target, one routing set in front.

Layout in the zone (Z = the zone name, N = the record name, `api` by default):

- `<target>.Z`: the target's own name. An A record when the gateway address is an IPv4 address
  (GKE and AKS load balancers), a CNAME when it is a host name (EKS's NLB). An alias A to the NLB
  would save a lookup but needs the load balancer's own hosted zone id, which the gateway
  Service does not report. The type is read from the address at apply time (a Record's `type`
  may be an Output, so no resource is created inside an apply); an address that is neither an
  IPv4 address nor a host name fails the deployment with the target's name.
- `N.Z`: the routing set, CNAME records only, one per target (per location in geo mode), each
  pointing at `<target>.Z` and tied to that target's health check, so a failed target leaves the
  answers. CNAMEs everywhere because a CNAME may not share its name with records of another type
  and the targets mix host names and IPs.
- failover mode adds `N-secondary.Z`: equal-weight, health-checked CNAMEs to every target but
  the primary. Route 53 failover knows only PRIMARY and SECONDARY, so SECONDARY is an alias
  CNAME to that set (an alias to another record in the zone must have that record's type, and
  a failover alias must evaluate its target's health).

Health checks (HTTPS on 443, the serving health path, latency measured, SNI on) probe an IP
endpoint with the global host name in the Host header and the TLS client_hello, as a client of
`N.Z` would send them. A host-name endpoint is probed by that name: Route 53 resolves it each
interval, and sends it as SNI (retrying without SNI if the certificate does not name it).
Route 53 cannot change `request_interval`, `measure_latency`, `type` or the reference name of an
existing health check, nor add or remove its IP address: changing the interval or an endpoint's
kind of address replaces the health check (and updates the records that name it).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.global_dns.contract import DnsEndpoint, DnsOutputs, GlobalDnsArgs, secondary_label
from components.global_dns.regions import CONTINENTS

HTTPS_PORT = 443
HEALTH_CHECK_INTERVALS = (10, 30)  # Route 53 RequestInterval: 10 (fast) or 30 seconds
FAILURE_THRESHOLDS = range(1, 11)  # Route 53 FailureThreshold: 1 to 10
MAX_WEIGHT = 255  # Route 53 Weight: 0 to 255
# The AWS provider appends a 37-character unique suffix to the reference name inside the
# 64-character CallerReference, so the name itself may have at most 27.
MAX_REFERENCE_NAME = 27
GEO_DEFAULT = {"country": "*"}  # Route 53's default location: whatever no other record names
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class _Zone:
    """What the records need to know about the zone and the component's options."""

    id: pulumi.Output[str]
    name: str
    ttl: int
    opts: pulumi.ResourceOptions

    def host(self, label: str) -> str:
        return f"{label}.{self.name}"


@dataclass(frozen=True)
class _Target:
    """One endpoint as the routing set sees it: its own name and its health check."""

    endpoint: DnsEndpoint
    host: pulumi.Output[str]  # <target>.<zone>, read from its record so the set waits for it
    health_check: aws.route53.HealthCheck


def build(parent: pulumi.ComponentResource, name: str, args: GlobalDnsArgs) -> DnsOutputs:
    """Zone, then per target a health check and a name, then the mode's routing set."""
    check_args(args)
    opts = pulumi.ResourceOptions(parent=parent, provider=args.provider)
    zone = _Zone(id=_zone_id(parent, name, args, opts), name=args.zone_name, ttl=args.ttl, opts=opts)
    global_host = zone.host(args.record_name)

    targets: dict[str, _Target] = {}
    names: dict[str, aws.route53.Record] = {}
    for endpoint in args.endpoints:
        check = _health_check(f"{name}-{endpoint.target}-health", endpoint, global_host, args, opts)
        names[endpoint.target] = _target_record(f"{name}-{endpoint.target}", endpoint, zone)
        targets[endpoint.target] = _Target(endpoint, names[endpoint.target].name, check)

    routing = _ROUTERS[args.mode](name, args, zone, targets)
    return DnsOutputs(
        # Read through the records, so whoever uses a name waits until it exists.
        global_host=pulumi.Output.all(*[record.name for record in routing]).apply(lambda _: global_host),
        zone_id=zone.id,
        target_hosts={target: record.name for target, record in names.items()},
    )


# --- checks on the arguments: config validation rejects these first, with the config key ---


def check_args(args: GlobalDnsArgs) -> None:
    """Reject what Route 53 would refuse, or would accept and route wrongly, before anything is made."""
    targets = [endpoint.target for endpoint in args.endpoints]
    if not targets:
        raise ValueError("GlobalDns needs at least one endpoint")
    if len(set(targets)) != len(targets):
        raise ValueError(f"GlobalDns endpoints name a target twice: {', '.join(targets)}")
    if args.health_check_interval not in HEALTH_CHECK_INTERVALS:
        raise ValueError(f"health_check_interval {args.health_check_interval}: Route 53 checks every 10 or 30 s")
    if args.failure_threshold not in FAILURE_THRESHOLDS:
        raise ValueError(f"failure_threshold {args.failure_threshold}: Route 53 takes 1 to 10")
    if args.ttl < 0:
        raise ValueError(f"ttl {args.ttl}: must not be negative")
    _MODE_CHECKS[args.mode](args, targets)


def _check_latency(args: GlobalDnsArgs, targets: list[str]) -> None:
    owners: dict[str, str] = {}
    for endpoint in args.endpoints:
        region = endpoint.latency_region
        if not region:
            raise ValueError(f"latency routing: target {endpoint.target} has no AWS latency region")
        if region in owners:
            raise ValueError(
                f"latency routing: {endpoint.target} and {owners[region]} both map to {region};"
                " Route 53 allows one latency record per region"
            )
        owners[region] = endpoint.target


def _check_weighted(args: GlobalDnsArgs, targets: list[str]) -> None:
    for endpoint in args.endpoints:
        if not 0 <= endpoint.weight <= MAX_WEIGHT:
            raise ValueError(f"weighted routing: {endpoint.target} has weight {endpoint.weight}, not 0 to 255")
    if not any(endpoint.weight for endpoint in args.endpoints):
        raise ValueError("weighted routing: all weights are zero")


def _check_failover(args: GlobalDnsArgs, targets: list[str]) -> None:
    if args.primary not in targets:
        raise ValueError(f"failover routing: primary {args.primary!r} is not a target ({', '.join(targets)})")
    if len(targets) < 2:
        raise ValueError("failover routing needs a second target behind the primary")


def _check_geo(args: GlobalDnsArgs, targets: list[str]) -> None:
    if args.geo_default not in targets:
        raise ValueError(f"geo routing: default {args.geo_default!r} is not a target ({', '.join(targets)})")
    taken: dict[tuple[str, str], str] = {}
    for endpoint in args.endpoints:
        for kind, code in _locations(endpoint):
            valid = code in CONTINENTS if kind == "continent" else bool(_COUNTRY.match(code))
            if not valid:
                raise ValueError(f"geo routing: {endpoint.target} names an unknown {kind} code {code!r}")
            if (kind, code) in taken:
                raise ValueError(f"geo routing: {kind} {code} goes to both {taken[kind, code]} and {endpoint.target}")
            taken[kind, code] = endpoint.target


_MODE_CHECKS: dict[str, Callable[[GlobalDnsArgs, list[str]], None]] = {
    "latency": _check_latency,
    "weighted": _check_weighted,
    "failover": _check_failover,
    "geo": _check_geo,
}


def _locations(endpoint: DnsEndpoint) -> list[tuple[str, str]]:
    """("continent", "EU"), ("country", "DE"): the key Route 53's geolocation policy takes, and the code."""
    return [("continent", c) for c in endpoint.continents] + [("country", c) for c in endpoint.countries]


# --- the zone, the health checks and the per-target names ---


def _zone_id(
    parent: pulumi.Resource, name: str, args: GlobalDnsArgs, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """A new public zone, or the existing one looked up by name (its delegation stays outside this program)."""
    if args.create_zone:
        zone = aws.route53.Zone(
            f"{name}-zone", name=args.zone_name, comment=f"GlobalDns {name}: one host name for every target", opts=opts
        )
        return zone.zone_id
    found = aws.route53.get_zone_output(
        name=args.zone_name,
        private_zone=False,
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=args.provider),
    )
    return found.zone_id


def _health_check(
    resource_name: str, endpoint: DnsEndpoint, global_host: str, args: GlobalDnsArgs, opts: pulumi.ResourceOptions
) -> aws.route53.HealthCheck:
    """HTTPS on the gateway's health path, from Route 53's checkers in every default region."""
    is_ip = endpoint.address.apply(lambda address: address_record_type(endpoint.target, address) == "A")
    return aws.route53.HealthCheck(
        resource_name,
        type="HTTPS",
        # An IP is probed as api.<zone> (Host header and SNI); a host name by itself, resolved each interval.
        ip_address=pulumi.Output.all(is_ip, endpoint.address).apply(lambda v: v[1] if v[0] else None),
        fqdn=pulumi.Output.all(is_ip, endpoint.address).apply(lambda v: global_host if v[0] else v[1]),
        port=HTTPS_PORT,
        resource_path=endpoint.health_path,
        request_interval=args.health_check_interval,  # cannot change in place: a new value replaces the check
        failure_threshold=args.failure_threshold,
        measure_latency=True,  # latency graphs per checker region; also fixed at creation
        enable_sni=True,
        reference_name=endpoint.target[:MAX_REFERENCE_NAME],
        tags={"Name": f"{global_host} {endpoint.target}", "Target": endpoint.target},
        opts=opts,
    )


def _target_record(resource_name: str, endpoint: DnsEndpoint, zone: _Zone) -> aws.route53.Record:
    """`<target>.<zone>`: an A record for an IP gateway, a CNAME for a host-name gateway."""
    return aws.route53.Record(
        resource_name,
        zone_id=zone.id,
        name=zone.host(endpoint.target),
        type=endpoint.address.apply(lambda address: address_record_type(endpoint.target, address)),
        records=[endpoint.address],
        ttl=zone.ttl,
        opts=zone.opts,
    )


def address_record_type(target: str, address: str) -> str:
    """ "A" for an IPv4 address, "CNAME" for a host name; anything else is a gateway we cannot name."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if _HOST.match(address.rstrip(".").lower()):
            return "CNAME"
        raise ValueError(
            f"target {target}: gateway address {address!r} is neither an IPv4 address nor a host name"
        ) from None
    if ip.version != 4:
        raise ValueError(
            f"target {target}: gateway address {address} is IPv6; GlobalDns names IPv4 gateways (A records)"
        )
    return "A"


# --- the routing set at <record_name>.<zone>, one function per mode ---

Router = Callable[[str, GlobalDnsArgs, _Zone, dict[str, _Target]], list[aws.route53.Record]]


def _routed_cname(
    resource_name: str,
    zone: _Zone,
    host: str,
    target: _Target,
    set_identifier: str,
    policy: dict[str, Any],
) -> aws.route53.Record:
    """One member of a routing set: a CNAME to the target's own name, answered only while it is healthy."""
    return aws.route53.Record(
        resource_name,
        zone_id=zone.id,
        name=host,
        type="CNAME",
        records=[target.host],
        ttl=zone.ttl,
        set_identifier=set_identifier,
        health_check_id=target.health_check.id,
        opts=zone.opts,
        **policy,
    )


def _latency(name: str, args: GlobalDnsArgs, zone: _Zone, targets: dict[str, _Target]) -> list[aws.route53.Record]:
    """Active-active: each target owns the latency record of its AWS region."""
    host = zone.host(args.record_name)
    return [
        _routed_cname(
            f"{name}-{t}-latency",
            zone,
            host,
            target,
            t,
            {"latency_routing_policies": [{"region": target.endpoint.latency_region}]},
        )
        for t, target in targets.items()
    ]


def _weighted(name: str, args: GlobalDnsArgs, zone: _Zone, targets: dict[str, _Target]) -> list[aws.route53.Record]:
    """Cloud bursting: answers in proportion to each target's weight among the healthy ones."""
    host = zone.host(args.record_name)
    return [
        _routed_cname(
            f"{name}-{t}-weighted",
            zone,
            host,
            target,
            t,
            {"weighted_routing_policies": [{"weight": target.endpoint.weight}]},
        )
        for t, target in targets.items()
    ]


def _geo(name: str, args: GlobalDnsArgs, zone: _Zone, targets: dict[str, _Target]) -> list[aws.route53.Record]:
    """Data residency: one record per named continent or country, and the default for everywhere else.

    Route 53 answers the most specific healthy location (country before continent), then the
    default; the default is health-checked too, so a failed default leaves those clients no answer
    rather than a dead one.
    """
    host = zone.host(args.record_name)
    records = [
        _routed_cname(
            f"{name}-{t}-{kind}-{code.lower()}",
            zone,
            host,
            target,
            f"{t}-{code.lower()}",
            {"geolocation_routing_policies": [{kind: code}]},
        )
        for t, target in targets.items()
        for kind, code in _locations(target.endpoint)
    ]
    default = targets[str(args.geo_default)]
    records.append(
        _routed_cname(
            f"{name}-geo-default", zone, host, default, "default", {"geolocation_routing_policies": [GEO_DEFAULT]}
        )
    )
    return records


def _failover(name: str, args: GlobalDnsArgs, zone: _Zone, targets: dict[str, _Target]) -> list[aws.route53.Record]:
    """Active-passive: PRIMARY is the primary target; SECONDARY an alias to a weighted set of the rest."""
    host = zone.host(args.record_name)
    primary = targets[str(args.primary)]
    secondary_host = zone.host(secondary_label(args.record_name))
    standby = [
        _routed_cname(f"{name}-{t}-standby", zone, secondary_host, target, t, _EQUAL_WEIGHT)
        for t, target in targets.items()
        if t != args.primary
    ]
    first = _routed_cname(f"{name}-primary", zone, host, primary, str(args.primary), _failover_role("PRIMARY"))
    second = aws.route53.Record(
        f"{name}-secondary",
        zone_id=zone.id,
        name=host,
        type="CNAME",  # an alias to a record in the zone takes that record's type
        set_identifier="secondary",
        **_failover_role("SECONDARY"),
        # No TTL of its own: Route 53 answers with the chosen standby record's TTL. Evaluating the
        # target's health makes the SECONDARY unhealthy only when every standby target is.
        aliases=[{"name": secondary_host, "zone_id": zone.id, "evaluate_target_health": True}],
        opts=pulumi.ResourceOptions.merge(zone.opts, pulumi.ResourceOptions(depends_on=standby)),
    )
    return [first, second, *standby]


def _failover_role(role: str) -> dict[str, Any]:
    return {"failover_routing_policies": [{"type": role}]}


_EQUAL_WEIGHT: dict[str, Any] = {"weighted_routing_policies": [{"weight": 1}]}
_ROUTERS: dict[str, Router] = {"latency": _latency, "weighted": _weighted, "geo": _geo, "failover": _failover}
