"""All targets of a stack, built side by side, and the stack outputs users read."""

from __future__ import annotations

import pulumi
import pulumi.runtime.config as runtime_config
import pulumi_aws as aws

from components.global_dns import GlobalDns
from components.global_dns.contract import DnsEndpoint, GlobalDnsArgs
from components.global_dns.regions import aws_latency_region
from components.tags import required_tags
from stacks.config import ConfigError, StackConfig, parse_stack_config
from stacks.dns_config import DnsConfig
from stacks.footprint import Footprint, network_cidr


def read_stack_config() -> StackConfig:
    """The validated stack config, or a one-line `pulumi.RunError` naming the bad key."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    try:
        return parse_stack_config(raw, stack=pulumi.get_stack(), project=pulumi.get_project())
    except ConfigError as error:
        raise pulumi.RunError(f"Pulumi.{pulumi.get_stack()}.yaml: {error}") from None


def build_platform(config: StackConfig) -> dict[str, Footprint]:
    """One footprint per target; no edge joins two clouds, so they deploy in parallel."""
    tags = required_tags(config.project, config.environment.name, config.owner, config.cost_center)
    footprints = {
        target.name: Footprint(target, config, tags, network_cidr(index)) for index, target in enumerate(config.targets)
    }

    pulumi.export("environment", config.environment.name)
    pulumi.export(
        "targets",
        {name: {"cloud": fp.target.cloud, "region": fp.target.region} for name, fp in footprints.items()},
    )
    pulumi.export("bucketUris", {name: fp.bucket.uri for name, fp in footprints.items()})
    pulumi.export("servingUris", {name: fp.bucket.serving_uri for name, fp in footprints.items()})
    pulumi.export(
        "clusters",
        {
            name: {"name": fp.cluster.cluster_name, "oidcIssuer": fp.cluster.identity.oidc_issuer_url}
            for name, fp in footprints.items()
        },
    )
    pulumi.export("kubeconfigs", {name: fp.cluster.kubeconfig for name, fp in footprints.items()})
    pulumi.export(
        "endpoints",
        {
            name: {
                "cloud": fp.target.cloud,
                "region": fp.target.region,
                "address": fp.serving.gateway_address,
                "healthPath": fp.serving.health_path,
            }
            for name, fp in footprints.items()
        },
    )
    pulumi.export("imagePrefixes", {name: fp.registry.image_prefix for name, fp in footprints.items()})
    pulumi.export(
        "databases",
        {
            name: {"host": fp.database.host, "port": fp.database.port, "database": fp.database.database}
            for name, fp in footprints.items()
        },
    )
    pulumi.export("databaseUrls", {name: fp.database.connection_string for name, fp in footprints.items()})
    if config.dns is not None:
        global_dns = _global_dns(config.dns, footprints, tags)
        pulumi.export("globalUrl", pulumi.Output.concat("https://", global_dns.global_host))
        pulumi.export("failoverSeconds", config.dns.failover_seconds)
    return footprints


def _global_dns(dns: DnsConfig, footprints: dict[str, Footprint], tags: dict[str, str]) -> GlobalDns:
    """One host name in front of every target; the only edges between clouds lead into it."""
    # Route 53 is a global service whose API lives in us-east-1.
    provider = aws.Provider("global-dns", region="us-east-1", default_tags={"tags": tags})
    endpoints = []
    for name, fp in footprints.items():
        locations = dns.geo.get(name)
        endpoints.append(
            DnsEndpoint(
                target=name,
                cloud=fp.target.cloud,
                region=fp.target.region,
                address=fp.serving.gateway_address,
                health_path=fp.serving.health_path,
                latency_region=aws_latency_region(fp.target.cloud, fp.target.region),
                weight=dns.weights.get(name, 1),
                continents=locations.continents if locations else (),
                countries=locations.countries if locations else (),
            )
        )
    return GlobalDns(
        "global",
        GlobalDnsArgs(
            provider=provider,
            zone_name=dns.zone,
            create_zone=dns.create_zone,
            mode=dns.mode,
            endpoints=tuple(endpoints),
            record_name=dns.record_name,
            ttl=dns.ttl,
            health_check_interval=dns.health_check_interval,
            failure_threshold=dns.failure_threshold,
            primary=dns.primary,
            geo_default=dns.geo_default,
        ),
    )
