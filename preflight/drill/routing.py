"""The routing set as the plan's Route 53 records make it, cross-checked with the stack's `mlplatform:dns`.

Each record is read by its own small reader (one per routing policy); each policy has its own check against
the config. A disagreement means the program did not build what the config asks for: a ProgramError naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from components.global_dns.contract import RoutingMode, secondary_label
from components.global_dns.regions import aws_latency_region
from preflight.drill.answers import Location, Routing
from preflight.errors import InputError
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from stacks.config import StackConfig, TargetConfig
from stacks.dns_config import DnsConfig

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


def stack_dns(config: StackConfig) -> DnsConfig:
    """The stack's global DNS, or a one-line InputError: there is nothing to drill without it."""
    if config.dns is None:
        raise InputError(
            f"Pulumi.{config.stack}.yaml: the stack has no global DNS to drill (mlplatform:dns is not set)"
        )
    return config.dns


@dataclass
class _Parts:
    """The routing set as it is read, record by record (a builder: filled once, then frozen into a Routing)."""

    latency: dict[str, str] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    locations: dict[Location, str] = field(default_factory=dict)
    primary: str | None = None
    default: str | None = None
    secondary_alias: bool = False

    def routing(self, mode: RoutingMode) -> Routing:
        return Routing(mode, self.latency, self.weights, self.primary, self.locations, self.default)


def read_routing(plan: Plan, config: StackConfig) -> Routing:
    """The routing set from the plan's Route 53 records, checked against the config."""
    dns = stack_dns(config)
    targets = {t.name: t for t in config.targets}
    checks = _health_checks(plan)
    hosts = (dns.global_host, _secondary_host(dns))
    records = [r for r in plan.of_type(RECORD) if r.inputs.get("name") in hosts]
    if not records:
        _mismatch(f"no Route 53 records named {dns.global_host}")
    parts = _Parts()
    for record in records:
        _read_record(record, dns, targets, checks, parts)
    routing = parts.routing(dns.mode)
    problem = _CHECKS[dns.mode](routing, dns, targets, parts.secondary_alias)
    if problem:
        _mismatch(problem)
    return routing


def _secondary_host(dns: DnsConfig) -> str:
    """Failover's standby set: weighted records behind the SECONDARY alias."""
    return f"{secondary_label(dns.record_name)}.{dns.zone}"


def _read_record(
    record: PlannedResource,
    dns: DnsConfig,
    targets: Mapping[str, TargetConfig],
    checks: Mapping[str, PlannedResource],
    parts: _Parts,
) -> None:
    if record.inputs.get("aliases"):
        parts.secondary_alias = _check_secondary_alias(record, _secondary_host(dns))
        return
    target = _record_target(record, dns, targets, checks)
    standby = record.inputs["name"] == _secondary_host(dns)
    read = _read_weight if standby else _READERS[dns.mode]
    read(record, target, parts)


def _read_latency(record: PlannedResource, target: str, parts: _Parts) -> None:
    parts.latency[target] = str(_policy(record, "latencyRoutingPolicies")["region"])


def _read_weight(record: PlannedResource, target: str, parts: _Parts) -> None:
    parts.weights[target] = int(_policy(record, "weightedRoutingPolicies")["weight"])


def _read_primary(record: PlannedResource, target: str, parts: _Parts) -> None:
    role = _policy(record, "failoverRoutingPolicies")["type"]
    if role != "PRIMARY":
        _mismatch(f"record {record.name}: a non-alias {role} record; expected the primary only")
    parts.primary = target


def _read_location(record: PlannedResource, target: str, parts: _Parts) -> None:
    where = _policy(record, "geolocationRoutingPolicies")
    if where.get("country") == "*":
        parts.default = target
        return
    located = [(kind, str(code)) for kind, code in where.items() if code]
    if len(located) != 1 or located[0][0] not in ("continent", "country"):
        _mismatch(f"record {record.name}: geolocation {where} is not one continent or country")
    parts.locations[located[0]] = target


_READERS: dict[RoutingMode, Callable[[PlannedResource, str, _Parts], None]] = {
    "latency": _read_latency,
    "weighted": _read_weight,
    "failover": _read_primary,
    "geo": _read_location,
}


def _mismatch(problem: str) -> NoReturn:
    raise ProgramError(f"the plan's Route 53 records disagree with mlplatform:dns: {problem}")


def _health_checks(plan: Plan) -> dict[str, PlannedResource]:
    return {check.urn: check for check in plan.of_type(HEALTH_CHECK)}


def _policy(record: PlannedResource, key: str) -> dict[str, Any]:
    policies = record.inputs.get(key)
    if not isinstance(policies, list) or len(policies) != 1 or not isinstance(policies[0], dict):
        _mismatch(f"record {record.name}: expected one {key} entry, got {policies!r}")
    return dict(policies[0])


def _record_target(
    record: PlannedResource,
    dns: DnsConfig,
    targets: Mapping[str, TargetConfig],
    checks: Mapping[str, PlannedResource],
) -> str:
    """The target a routing CNAME answers with, tied to that target's own health check and the TTL."""
    values = record.inputs.get("records") or []
    suffix = f".{dns.zone}"
    name = values[0][: -len(suffix)] if len(values) == 1 and str(values[0]).endswith(suffix) else None
    if name is None or name not in targets:
        _mismatch(f"record {record.name}: answers {values!r}, not one target's name under {dns.zone}")
    if not record.inputs.get("healthCheckId"):
        _mismatch(f"record {record.name}: no health check, so a failed {name} would stay in the answers")
    tied = [checks[d] for d in record.dependencies if d in checks]
    if len(tied) != 1 or (tied[0].inputs.get("tags") or {}).get("Target") != name:
        _mismatch(f"record {record.name}: not tied to {name}'s own health check")
    check = tied[0].inputs
    if (check.get("requestInterval"), check.get("failureThreshold")) != (
        dns.health_check_interval,
        dns.failure_threshold,
    ):
        _mismatch(
            f"health check of {name}: every {check.get('requestInterval')} s, threshold"
            f" {check.get('failureThreshold')}; config says {dns.health_check_interval} s, {dns.failure_threshold}"
        )
    if record.inputs.get("ttl") != dns.ttl:
        _mismatch(f"record {record.name}: TTL {record.inputs.get('ttl')}, config says {dns.ttl}")
    return name


def _check_secondary_alias(record: PlannedResource, secondary_host: str) -> bool:
    role = _policy(record, "failoverRoutingPolicies")["type"]
    aliases = record.inputs["aliases"]
    alias = aliases[0] if isinstance(aliases, list) and len(aliases) == 1 else {}
    if role != "SECONDARY" or alias.get("name") != secondary_host or alias.get("evaluateTargetHealth") is not True:
        _mismatch(f"record {record.name}: expected a SECONDARY alias to {secondary_host} evaluating its health")
    return True


# --- each policy's check against the config: the problem, or None ---

Check = Callable[[Routing, DnsConfig, Mapping[str, TargetConfig], bool], str | None]


def _check_latency(routing: Routing, dns: DnsConfig, targets: Mapping[str, TargetConfig], _: bool) -> str | None:
    expected = {name: aws_latency_region(t.cloud, t.region) for name, t in targets.items()}
    if dict(routing.latency) == expected:
        return None
    return f"latency records {dict(routing.latency)}, config implies {expected}"


def _check_weighted(routing: Routing, dns: DnsConfig, targets: Mapping[str, TargetConfig], _: bool) -> str | None:
    if dict(routing.weights) == dict(dns.weights):
        return None
    return f"weights {dict(routing.weights)}, config says {dict(dns.weights)}"


def _check_failover(
    routing: Routing, dns: DnsConfig, targets: Mapping[str, TargetConfig], secondary_alias: bool
) -> str | None:
    standby = sorted(name for name in targets if name != dns.primary)
    if routing.primary == dns.primary and sorted(routing.weights) == standby and secondary_alias:
        return None
    return (
        f"primary {routing.primary}, standbys {sorted(routing.weights)}"
        f"{'' if secondary_alias else ', no SECONDARY alias'}; config says primary {dns.primary}"
    )


def _check_geo(routing: Routing, dns: DnsConfig, targets: Mapping[str, TargetConfig], _: bool) -> str | None:
    expected: dict[Location, str] = {}
    for name, where in dns.geo.items():
        expected.update({("continent", code): name for code in where.continents})
        expected.update({("country", code): name for code in where.countries})
    if dict(routing.locations) == expected and routing.default == dns.geo_default:
        return None
    return (
        f"geo records {_locations(routing.locations)} default {routing.default};"
        f" config says {_locations(expected)} default {dns.geo_default}"
    )


_CHECKS: dict[RoutingMode, Check] = {
    "latency": _check_latency,
    "weighted": _check_weighted,
    "failover": _check_failover,
    "geo": _check_geo,
}


def _locations(locations: Mapping[Location, str]) -> str:
    return "{" + ", ".join(f"{code}: {t}" for (_, code), t in sorted(locations.items())) + "}"
