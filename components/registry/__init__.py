"""Registry: a private container registry per target, scanned, with cleanup, pullable by the cluster."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pulumi

from components.registry.contract import RegistryArgs, RegistryOutputs

__all__ = ["Registry", "RegistryArgs"]

Build = Callable[[pulumi.ComponentResource, str, RegistryArgs], RegistryOutputs]


class Registry(pulumi.ComponentResource):
    """One registry per target; the cloud is chosen by ``args.target``."""

    image_prefix: pulumi.Output[str]
    registry_id: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:registry:Registry", name, None, opts)
        build: Build = importlib.import_module(f"components.registry.{args.target.cloud}").build
        outputs = build(self, name, args)
        self.image_prefix = outputs.image_prefix
        self.registry_id = outputs.registry_id
        self.register_outputs({"imagePrefix": self.image_prefix, "registryId": self.registry_id})
