"""Registry: a private container registry per target, scanned, with cleanup, pullable by the cluster."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pulumi

from components.per_cloud import implementation
from components.registry.contract import RegistryArgs, RegistryOutputs
from components.target import Cloud

__all__ = ["Registry", "RegistryArgs"]

Build = Callable[[pulumi.ComponentResource, str, RegistryArgs], RegistryOutputs]
IMPLEMENTATIONS: dict[Cloud, str] = {
    "aws": "components.registry.aws",
    "gcp": "components.registry.gcp",
    "azure": "components.registry.azure",
}


class Registry(pulumi.ComponentResource):
    """One registry per target; the cloud is chosen by ``args.target``."""

    image_prefix: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    mirrors: Mapping[str, pulumi.Output[str]]
    """Upstream registry host -> pull-through prefix, for the upstreams this cloud mirrors (empty when off)."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:registry:Registry", name, None, opts)
        build: Build = implementation("Registry", IMPLEMENTATIONS, args.target.cloud).build
        outputs = build(self, name, args)
        self.image_prefix = outputs.image_prefix
        self.registry_id = outputs.registry_id
        self.mirrors = outputs.mirrors
        self.register_outputs(
            {"imagePrefix": self.image_prefix, "registryId": self.registry_id, "mirrors": dict(self.mirrors)}
        )
