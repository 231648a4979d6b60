"""The stack's model registry: one ModelRegistry on the primary target (the model sync's primary, else the first
target), on that target's MetadataDB, and the stack output `modelRegistry` the client's publish reads."""

from __future__ import annotations

from typing import Any

import pulumi

from components.model_registry import ModelRegistry, ModelRegistryArgs, RegistryDatabase, RegistryGateway
from components.serving_stack.contract import ModelCallers
from stacks.config import StackConfig
from stacks.footprint import Footprint


def primary_target(config: StackConfig) -> str:
    return config.model_sync.primary if config.model_sync is not None else config.targets[0].name


def _gateway(config: StackConfig, footprint: Footprint) -> RegistryGateway | None:
    """The gateway route, where authentication is on and someone may use the registry (mlplatform:auth.registry)."""
    auth, access = footprint.serving_args.auth, config.auth.registry
    if auth is None or access is None or access.open_to_nobody:
        return None
    tls = footprint.serving_args.tls
    return RegistryGateway(
        namespace=footprint.serving.addons.gateway_namespace,
        selector=footprint.serving.addons.gateway_selector,
        auth=auth,
        callers=ModelCallers("registry", access.subjects, access.groups, access.scopes),
        hosts=(*(tls.hosts if tls else ()), footprint.serving.gateway_address),
    )


def model_registry(config: StackConfig, footprints: dict[str, Footprint]) -> dict[str, Any]:
    """Build the registry; the output is {target, url, service}: url null where the gateway does not expose it."""
    target = primary_target(config)
    footprint = footprints[target]
    database = footprint.database
    if database is None:  # costSavings.databases always keeps the primary's
        raise pulumi.RunError(f"the model registry's target {target} has no metadata database")
    gateway = _gateway(config, footprint)
    registry = ModelRegistry(
        f"{target}-model-registry",
        ModelRegistryArgs(
            cloud=footprint.target.cloud,
            k8s_provider=footprint.cluster.k8s_provider,
            database=RegistryDatabase(database.host, database.port, database.connection_string, database.ca_bundle),
            artifact_root=footprint.bucket.uri,
            gateway=gateway,
            image_mirrors=footprint.registry.mirrors,
            replicas=2 if config.environment.name == "prod" else 1,
            after=(footprint.serving,),
        ),
        pulumi.ResourceOptions(parent=footprint),
    )
    url: pulumi.Input[str | None] = None
    if gateway is not None:
        tls = footprint.serving_args.tls
        base = f"https://{tls.hosts[0]}" if tls else pulumi.Output.concat("http://", footprint.serving.gateway_address)
        url = pulumi.Output.concat(base, registry.path)
    return {"target": target, "url": url, "service": registry.service}
