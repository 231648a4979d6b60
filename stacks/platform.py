"""All targets of a stack, built side by side, and the stack outputs users read."""

from __future__ import annotations

import pulumi
import pulumi.runtime.config as runtime_config
import pulumi_aws as aws

from components.global_dns import GlobalDns
from components.global_dns.acme_federation import acme_role, challenge_name
from components.global_dns.contract import DnsEndpoint, GlobalDnsArgs
from components.global_dns.regions import aws_latency_region
from components.serving_stack.tls import (
    CERT_MANAGER_NAMESPACE,
    SOLVER_SERVICE_ACCOUNT,
    gateway_namespace,
    issue_certificate,
)
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
        # Route 53 is a global service whose API lives in us-east-1.
        dns_provider = aws.Provider("global-dns", region="us-east-1", default_tags={"tags": tags})
        global_dns = _global_dns(config.dns, footprints, dns_provider)
        _certificates(config.dns, footprints, global_dns, dns_provider)
        pulumi.export("globalUrl", pulumi.Output.concat("https://", global_dns.global_host))
        pulumi.export("failoverSeconds", config.dns.failover_seconds)
    return footprints


def _global_dns(dns: DnsConfig, footprints: dict[str, Footprint], provider: aws.Provider) -> GlobalDns:
    """One host name in front of every target; the only edges between clouds lead into it."""
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


def _certificates(
    dns: DnsConfig, footprints: dict[str, Footprint], global_dns: GlobalDns, provider: aws.Provider
) -> None:
    """Every gateway proves the global host by DNS-01 on the zone, with no AWS key in any cluster:
    an AWS role per cluster trusts that cluster's OIDC issuer (the DNS-01 edges between clouds)."""
    for name, fp in footprints.items():
        identity = fp.cluster.identity
        acme = acme_role(
            global_dns,
            f"global-{name}-dns01",
            provider,
            global_dns.zone_id,
            dns.zone,
            [challenge_name(dns.global_host)],
            identity.oidc_issuer_url,
            fp.target.cloud,
            CERT_MANAGER_NAMESPACE,
            SOLVER_SERVICE_ACCOUNT,
            # The DNS provider uses the EKS targets' account, where IAM allows one provider per issuer URL.
            oidc_provider_arn=identity.oidc_provider_arn if fp.target.cloud == "aws" else None,
        )
        issue_certificate(
            fp.serving,
            f"{name}-serving",
            fp.serving_args,
            [dns.global_host],
            global_dns.zone_id,
            acme.arn,
            dns.acme_email,
            fp.serving.addons.ready,
            namespace=gateway_namespace(fp.serving.addons),
        )
