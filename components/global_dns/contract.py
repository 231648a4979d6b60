"""The GlobalDns contract: one host name in front of every target, health-checked on Route 53."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi

RoutingMode = Literal["latency", "failover", "weighted", "geo"]

# Every name the platform writes in the zone, in one place (a CNAME may not share its name with any other
# record, so two writers of one name fail at Route 53):
#   <target>                 each target's own name (GlobalDns: A or CNAME to its gateway)
#   <record_name>            the global host's routing set (GlobalDns)
#   <record_name>-secondary  failover's standby set (GlobalDns; reserved in every mode, so a mode change is safe)
#   <metrics record>         the central metrics host (observability's CentralEndpoint)
#   _acme-challenge.<host>   DNS-01 TXT records cert-manager writes (an underscore: no target or record can clash)
SECONDARY_SUFFIX = "-secondary"


def secondary_label(record_name: str) -> str:
    """Failover's standby set, behind the SECONDARY alias: `<record_name>-secondary`."""
    return f"{record_name}{SECONDARY_SUFFIX}"


def global_labels(record_name: str) -> dict[str, str]:
    """The labels GlobalDns writes besides the targets' own, with what each is (for a clash's message)."""
    return {
        record_name: "the global host",
        secondary_label(record_name): "failover's standby set",
    }


@dataclass(frozen=True)
class DnsEndpoint:
    """One target's gateway as DNS sees it."""

    target: str  # the target's name, e.g. aws-us-east-1
    cloud: str
    region: str
    address: pulumi.Output[str]  # a host name (EKS load balancers) or an IPv4 address (GKE, AKS)
    health_path: str
    latency_region: str = ""  # latency mode: the AWS region whose latency record this target owns
    weight: int = 1  # weighted mode
    continents: tuple[str, ...] = ()  # geo mode: Route 53 continent codes (EU, NA, ...)
    countries: tuple[str, ...] = ()  # geo mode: ISO 3166 alpha-2 country codes


@dataclass(frozen=True)
class GlobalDnsArgs:
    provider: pulumi.ProviderResource  # an aws.Provider: Route 53 is global, its API lives in us-east-1
    zone_name: str  # e.g. ml.example.com
    create_zone: bool  # False: the zone exists and is looked up by name
    mode: RoutingMode
    endpoints: tuple[DnsEndpoint, ...]
    record_name: str = "api"  # the global name is <record_name>.<zone_name>
    ttl: int = 60
    health_check_interval: int = 30  # Route 53 takes 10 (fast) or 30
    failure_threshold: int = 3  # 1 to 10
    primary: str | None = None  # failover mode: the primary target's name
    geo_default: str | None = None  # geo mode: the target answering locations no record names


@dataclass(frozen=True)
class DnsOutputs:
    global_host: pulumi.Output[str]  # api.<zone>
    zone_id: pulumi.Output[str]
    target_hosts: dict[str, pulumi.Output[str]]  # target -> its own name under the zone
