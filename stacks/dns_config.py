"""GlobalDns config: one host name for every target, and the failover time that config implies.

Worst-case time until clients move off a failed target =
    health-check interval x failure threshold   (Route 53 declares the endpoint unhealthy)
  + record TTL                                  (resolvers drop the cached answer)
  + PROPAGATION_ALLOWANCE                       (Route 53's checkers agree and its name servers
                                                 stop answering with the endpoint)
Prod must stay at or below MAX_PROD_FAILOVER_SECONDS; config that would not is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.global_dns.acme_federation import challenge_name
from components.global_dns.contract import RoutingMode, global_labels
from components.global_dns.regions import CONTINENTS, aws_latency_region
from components.target import Cloud
from stacks.validate import ConfigError, boolean, integer, mapping, string, string_list

MODES: tuple[RoutingMode, ...] = ("latency", "failover", "weighted", "geo")
DNS_KEYS = {
    "zone", "createZone", "recordName", "mode", "ttl", "healthCheckInterval", "failureThreshold",
    "primary", "weights", "geo", "default", "peakRps", "rpsPerReplica", "acmeEmail",
}  # fmt: skip
# The drill's capacity check: the traffic the platform must carry at peak, and what one Triton
# replica serves. Defaults are placeholders to replace with a load test's figures.
DEFAULT_PEAK_RPS = 100
DEFAULT_RPS_PER_REPLICA = 10
GEO_KEYS = {"continents", "countries"}
# Route 53 health checkers report a status change to its DNS servers within seconds of the
# failure threshold being reached; 10 s covers that agreement and the name servers' update.
PROPAGATION_ALLOWANCE = 10
MAX_PROD_FAILOVER_SECONDS = 60
MAX_DNS_NAME = 253  # characters in a written-out domain name (RFC 1035: 255 octets on the wire)
HEALTH_CHECK_INTERVALS = (10, 30)  # Route 53 RequestInterval: 10 (fast, billed extra) or 30
_ZONE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class GeoLocations:
    continents: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class DnsConfig:
    zone: str
    create_zone: bool
    record_name: str
    mode: RoutingMode
    ttl: int
    health_check_interval: int
    failure_threshold: int
    primary: str | None = None
    weights: Mapping[str, int] = field(default_factory=dict)
    geo: Mapping[str, GeoLocations] = field(default_factory=dict)
    geo_default: str | None = None
    peak_rps: int = DEFAULT_PEAK_RPS
    rps_per_replica: int = DEFAULT_RPS_PER_REPLICA
    acme_email: str = ""
    """Let's Encrypt account contact for the global host's certificates; default hostmaster@<zone>."""

    @property
    def global_host(self) -> str:
        return f"{self.record_name}.{self.zone}"

    @property
    def failover_seconds(self) -> int:
        return failover_seconds(self.health_check_interval, self.failure_threshold, self.ttl)


@dataclass(frozen=True)
class DnsDefaults:
    """What an environment means for DNS; see stacks.config.PROFILES."""

    required: bool
    health_check_interval: int
    failure_threshold: int
    ttl: int
    max_failover_seconds: int | None


def failover_seconds(interval: int, threshold: int, ttl: int) -> int:
    """The worst case, in seconds, from a target failing to clients no longer being sent to it."""
    return interval * threshold + ttl + PROPAGATION_ALLOWANCE


def parse_dns(
    key: str, value: Any, defaults: DnsDefaults, targets: Sequence[tuple[str, Cloud, str]]
) -> DnsConfig | None:
    """`targets` is (name, cloud, region) per target. None: this stack runs without global DNS."""
    if value is None:
        if defaults.required:
            raise ConfigError(key, "missing; prod needs global DNS in front of its targets")
        return None
    fields = mapping(key, value, DNS_KEYS)
    zone = string(f"{key}.zone", fields.get("zone")).rstrip(".").lower()
    if not _ZONE.fullmatch(zone):
        raise ConfigError(f"{key}.zone", f"{zone!r} is not a DNS zone name such as ml.example.com")
    record = string(f"{key}.recordName", fields.get("recordName", "api"))
    if not _LABEL.fullmatch(record):
        raise ConfigError(f"{key}.recordName", f"{record!r} is not a DNS label")
    mode = string(f"{key}.mode", fields.get("mode", "latency"))
    if mode not in MODES:
        raise ConfigError(f"{key}.mode", f"unknown routing mode {mode!r} (one of {', '.join(MODES)})")

    interval = integer(
        f"{key}.healthCheckInterval", fields.get("healthCheckInterval", defaults.health_check_interval), 10, 30
    )
    if interval not in HEALTH_CHECK_INTERVALS:
        raise ConfigError(f"{key}.healthCheckInterval", f"Route 53 checks every 10 or 30 seconds, not {interval}")
    threshold = integer(f"{key}.failureThreshold", fields.get("failureThreshold", defaults.failure_threshold), 1, 10)
    ttl = integer(f"{key}.ttl", fields.get("ttl", defaults.ttl), 0, 86400)
    worst = failover_seconds(interval, threshold, ttl)
    if defaults.max_failover_seconds is not None and worst > defaults.max_failover_seconds:
        raise ConfigError(
            key,
            f"worst-case failover is {worst} s ({interval} s x {threshold} + TTL {ttl} s +"
            f" {PROPAGATION_ALLOWANCE} s), above prod's {defaults.max_failover_seconds} s",
        )

    names = [name for name, _, _ in targets]
    config = DnsConfig(
        zone=zone,
        create_zone=boolean(f"{key}.createZone", fields.get("createZone", False)),
        record_name=record,
        mode=mode,  # checked against MODES above
        ttl=ttl,
        health_check_interval=interval,
        failure_threshold=threshold,
        peak_rps=integer(f"{key}.peakRps", fields.get("peakRps", DEFAULT_PEAK_RPS), 1, 10_000_000),
        acme_email=_email(f"{key}.acmeEmail", fields.get("acmeEmail", f"hostmaster@{zone}")),
        rps_per_replica=integer(
            f"{key}.rpsPerReplica", fields.get("rpsPerReplica", DEFAULT_RPS_PER_REPLICA), 1, 100_000
        ),
    )
    if mode == "latency":
        _check_latency(key, targets)
        return config
    if mode == "failover":
        primary = string(f"{key}.primary", fields.get("primary"))
        _known(f"{key}.primary", primary, names)
        return _with(config, primary=primary)
    if mode == "weighted":
        return _with(config, weights=_weights(f"{key}.weights", fields.get("weights", {}), names))
    geo = _geo(f"{key}.geo", fields.get("geo"), names)
    default = string(f"{key}.default", fields.get("default"))
    _known(f"{key}.default", default, names)
    return _with(config, geo=geo, geo_default=default)


def check_zone_names(prefix: str, targets: Sequence[str], dns: DnsConfig | None, metrics_record: str) -> None:
    """Every name the platform writes in the zone (components/global_dns/contract.py lists them) must be free and
    short enough: Route 53 refuses a CNAME beside another record of its name, and a name over 253 characters."""
    if dns is None:
        return
    reserved = global_labels(dns.record_name)
    for i, name in enumerate(targets):
        if name in reserved:
            raise ConfigError(
                f"{prefix}targets[{i}].name",
                f"{name}.{dns.zone} is {reserved[name]}, a name GlobalDns writes;"
                " rename the target (or change mlplatform:dns.recordName)",
            )
    hosts = [dns.global_host, f"{metrics_record}.{dns.zone}"]
    names = [*hosts, *(challenge_name(host) for host in hosts), *(f"{t}.{dns.zone}" for t in targets)]
    longest = max(names, key=len)
    if len(longest) > MAX_DNS_NAME:
        raise ConfigError(
            f"{prefix}dns.zone",
            f"the zone would hold a name of {len(longest)} characters ({longest.split('.')[0]}...), over DNS's"
            f" {MAX_DNS_NAME}; use a shorter zone or recordName",
        )


def _email(key: str, value: Any) -> str:
    email = string(key, value)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ConfigError(key, f"{email!r} is not an e-mail address")
    return email


def _with(config: DnsConfig, **changes: Any) -> DnsConfig:
    return DnsConfig(**{**config.__dict__, **changes})


def _known(key: str, name: str, names: Sequence[str]) -> None:
    if name not in names:
        raise ConfigError(key, f"{name!r} is not a target of this stack ({', '.join(names)})")


def _check_latency(key: str, targets: Sequence[tuple[str, Cloud, str]]) -> None:
    """Route 53 allows one latency record per AWS region: two targets there are rejected."""
    owners: dict[str, str] = {}
    for name, cloud, region in targets:
        aws_region = aws_latency_region(cloud, region)
        if aws_region in owners:
            raise ConfigError(
                f"{key}.mode",
                f"latency routing: {name} and {owners[aws_region]} both map to {aws_region}, and Route 53"
                " allows one latency record per region; use weighted or geo, or drop one",
            )
        owners[aws_region] = name


def _weights(key: str, value: Any, names: Sequence[str]) -> dict[str, int]:
    fields = mapping(key, value, set(names))
    weights = {name: integer(f"{key}.{name}", fields.get(name, 1), 0, 255) for name in names}
    if not any(weights.values()):
        raise ConfigError(key, "all weights are zero: no target would ever be answered")
    return weights


def _geo(key: str, value: Any, names: Sequence[str]) -> dict[str, GeoLocations]:
    fields = mapping(key, value, set(names))
    taken: dict[str, str] = {}
    geo: dict[str, GeoLocations] = {}
    for name, locations in fields.items():
        where = mapping(f"{key}.{name}", locations, GEO_KEYS)
        continents = tuple(string_list(f"{key}.{name}.continents", where.get("continents", [])))
        countries = tuple(string_list(f"{key}.{name}.countries", where.get("countries", [])))
        for code in continents:
            if code not in CONTINENTS:
                raise ConfigError(
                    f"{key}.{name}.continents", f"{code!r} is not a continent code ({', '.join(sorted(CONTINENTS))})"
                )
        for code in countries:
            if not _COUNTRY.fullmatch(code):
                raise ConfigError(f"{key}.{name}.countries", f"{code!r} is not an ISO 3166 alpha-2 country code")
        # A country inside another target's continent is legal; the same location twice is not.
        for location in [f"continent {c}" for c in continents] + [f"country {c}" for c in countries]:
            if location in taken:
                raise ConfigError(f"{key}.{name}", f"{location} is already routed to {taken[location]}")
            taken[location] = name
        geo[name] = GeoLocations(continents, countries)
    if not geo:
        raise ConfigError(key, "geo routing needs the locations of at least one target")
    return geo
