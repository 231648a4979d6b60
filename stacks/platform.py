"""All targets of a stack, built side by side, and the stack outputs users read."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.runtime.config as runtime_config
import pulumi_aws as aws

from components.global_dns import GlobalDns
from components.global_dns.contract import DnsEndpoint, GlobalDnsArgs
from components.global_dns.regions import aws_latency_region
from components.model_sync import ModelSync, ModelSyncArgs, SyncBucket
from components.observability.endpoint import CentralEndpoint, write_url
from components.oidc_providers import OidcProviders
from components.tags import azure_tags_transform, required_tags
from pricing.table import load_price_table
from stacks.alerting_config import check_secrets
from stacks.auth_config import caller_facts
from stacks.config import ConfigError, StackConfig, parse_stack_config
from stacks.dns_config import DnsConfig
from stacks.footprint import Footprint, network_cidr
from stacks.model_registry import model_registry
from stacks.namespaces import unread_keys
from stacks.observability_config import FleetPlan, fleet_plan
from stacks.serving_config import ModelConfig
from stacks.sync_config import SyncConfig
from stacks.tls import issue_certificates, tls_settings
from stacks.training_config import job_offer, training_offers


def read_stack_config() -> StackConfig:
    """The validated stack config, or a one-line `pulumi.RunError` naming the bad key."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    for warning in unread_keys(raw, pulumi.get_project()):  # a typo'd namespace: the engine would say nothing
        pulumi.log.warn(f"Pulumi.{pulumi.get_stack()}.yaml: {warning}")
    try:
        config = parse_stack_config(raw, stack=pulumi.get_stack(), project=pulumi.get_project())
        check_secrets(
            f"{config.project}:",
            config.alerting,
            lambda key: runtime_config.is_config_secret(key) or key in secret_keys,
        )
        return config
    except ConfigError as error:
        raise pulumi.RunError(f"Pulumi.{pulumi.get_stack()}.yaml: {error}") from None


def build_platform(config: StackConfig) -> dict[str, Footprint]:
    """One footprint per target; no edge joins two clouds, so they deploy in parallel."""
    tags = required_tags(config.project, config.environment.name, config.owner, config.cost_center)
    # Stack-wide, before any footprint: the remote-write token every footprint reads (waits on nothing).
    metrics_host = config.observability.host(config.dns)
    endpoint = None
    if metrics_host is not None:
        senders = [t.name for t in config.targets if t.name != config.observability.central]
        endpoint = CentralEndpoint("metrics", metrics_host, senders, config.observability.token_generation)
    fleet = fleet_plan(
        config.observability,
        config.dns,
        [(t.name, t.cloud, t.region) for t in config.targets],
        endpoint.tokens if endpoint is not None else None,
        # Every receiver's secret, read once as a Pulumi secret; each cluster's Secret of receivers holds them.
        config.alerting.settings(pulumi.Config().require_secret),
    )
    footprints = {
        target.name: Footprint(target, config, tags, network_cidr(index), fleet, tls_settings(target.name, config))
        for index, target in enumerate(config.targets)
    }

    pulumi.export("environment", config.environment.name)
    pulumi.export(
        "targets",
        {name: {"cloud": fp.target.cloud, "region": fp.target.region} for name, fp in footprints.items()},
    )
    pulumi.export("bucketUris", {name: fp.bucket.uri for name, fp in footprints.items()})
    pulumi.export("servingUris", {name: fp.bucket.serving_uri for name, fp in footprints.items()})
    # What `mlplatform models publish|status` needs beside the buckets: the S3 buckets' KMS keys (objects are written
    # under the bucket's own key) and what each model serves (a publish for a model the stack lacks is refused).
    pulumi.export(
        "bucketKeys",
        {name: fp.bucket.encryption_key_arn for name, fp in footprints.items() if fp.bucket.encryption_key_arn},
    )
    pulumi.export("models", {model.name: _served(model) for model in config.models})
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
    # Where `mlplatform jobs submit` may place a training job, with the price table's figures (training_config.py).
    offers = training_offers(config.training, [(t.name, t.cloud, t.region) for t in config.targets], load_price_table())
    pulumi.export(
        "trainingOffers",
        {
            name: job_offer(offer, footprints[name].bucket.uri, footprints[name].training)
            for name, offer in offers.items()
        },
    )
    pulumi.export("imagePrefixes", {name: fp.registry.image_prefix for name, fp in footprints.items()})
    # What an image pusher (the users' image-building CI) is granted push on, per cloud's IAM: docs/SECURITY.md.
    pulumi.export("registryIds", {name: fp.registry.registry_id for name, fp in footprints.items()})
    # Only the targets that have one (mlplatform:costSavings.databases: primary keeps it on the primary).
    databases = {name: fp.database for name, fp in footprints.items() if fp.database is not None}
    pulumi.export(
        "databases",
        {name: {"host": db.host, "port": db.port, "database": db.database} for name, db in databases.items()},
    )
    pulumi.export("databaseUrls", {name: db.connection_string for name, db in databases.items()})
    # What goes in each client's CA file (the connection strings verify the server with it): PEM or its address.
    pulumi.export("databaseCaBundles", {name: db.ca_bundle for name, db in databases.items()})
    _export_monitoring(fleet, footprints, endpoint)
    pulumi.export("auth", caller_facts(config.auth, config.gateway))  # how to call the gateways
    # The one IAM OIDC provider per cluster issuer in the stack's AWS account (IAM allows one per URL), for the
    # DNS-01 federation and the model sync alike: whoever asks first makes it, the other gets the same one.
    oidc_providers = OidcProviders()
    if config.dns is not None:
        # Route 53 is a global service whose API lives in us-east-1.
        dns_provider = aws.Provider("global-dns", region="us-east-1", default_tags={"tags": tags})
        global_dns = _global_dns(config.dns, footprints, dns_provider)
        issue_certificates(config.dns, footprints, global_dns, dns_provider, oidc_providers)
        if endpoint is not None:
            central = config.observability.central
            endpoint.publish(dns_provider, global_dns.zone_id, global_dns.target_hosts[central], config.dns.ttl)
        pulumi.export("globalUrl", pulumi.Output.concat("https://", global_dns.global_host))
        pulumi.export("failoverSeconds", config.dns.failover_seconds)
    if config.model_sync is not None:
        sync = _model_sync(config.model_sync, footprints, tags, oidc_providers, config.publishing.public_key)
        pulumi.export("modelSync", {"primary": config.model_sync.primary, "replicas": sync.replicas})
    # MLflow's registry on the primary target; `mlplatform models publish` records every version there.
    pulumi.export("modelRegistry", model_registry(config, footprints))
    return footprints


def _model_sync(
    sync: SyncConfig,
    footprints: dict[str, Footprint],
    tags: dict[str, str],
    oidc_providers: OidcProviders,
    public_key: str | None,
) -> ModelSync:
    """The primary's bucket is the one writer; a CronJob in its cluster copies every complete version to the others
    (the model-sync federation: writer identities trust the primary's issuer, docs/MODEL_SYNC.md)."""

    def bucket(fp: Footprint) -> SyncBucket:
        return SyncBucket(fp.target, fp.bucket.bucket_name, fp.bucket.resource_id, fp.bucket.encryption_key_arn)

    primary = footprints[sync.primary]
    return ModelSync(
        "models",
        ModelSyncArgs(
            primary=bucket(primary),
            replicas=tuple(bucket(fp) for name, fp in footprints.items() if name != sync.primary),
            k8s_provider=primary.cluster.k8s_provider,
            cluster_identity=primary.cluster.identity,
            oidc_providers=oidc_providers,
            schedule=sync.schedule,
            public_key=public_key,
        ),
        # azure-native has no default tags: the writer identities made in Azure carry the required tags this way.
        pulumi.ResourceOptions(transforms=[azure_tags_transform(tags)]),
    )


def _served(model: ModelConfig) -> dict[str, Any]:
    """A model's versions as the stack routes them: {stable: {name, path, weight}, canary?: {...}, routing,
    promotion: {maxErrorRatio, maxP99Seconds, minRequests, window, steps}} (what `models promote` judges by)."""
    versions = {"stable": model.stable, "canary": model.canary}
    served: dict[str, Any] = {
        role: {"name": v.name, "path": v.path, "weight": v.weight} for role, v in versions.items() if v is not None
    }
    return {**served, "routing": model.routing, "promotion": model.promotion.exported()}


def _export_monitoring(fleet: FleetPlan, footprints: dict[str, Footprint], endpoint: CentralEndpoint | None) -> None:
    """Where the fleet's metrics go, which targets reach the central Prometheus, and Grafana's admin password."""
    central = fleet.config.central
    pulumi.export(
        "monitoring",
        {
            "central": central,
            "remoteWriteUrl": write_url(endpoint.host) if endpoint is not None else None,
            "aggregatedTargets": [target.name for target in fleet.fleet],
            "localOnlyTargets": [name for name in footprints if name not in {t.name for t in fleet.fleet}],
            "grafana": "kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80",
        },
    )
    pulumi.export("grafanaAdminPassword", footprints[central].monitoring.grafana_password)


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
