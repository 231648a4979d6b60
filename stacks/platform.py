"""All targets of a stack, built side by side, and the stack outputs users read."""

from __future__ import annotations

import pulumi
import pulumi.runtime.config as runtime_config

from components.tags import required_tags
from stacks.config import ConfigError, StackConfig, parse_stack_config
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
    return footprints
