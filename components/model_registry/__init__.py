"""ModelRegistry: MLflow's model registry on the primary target, its backend store the target's MetadataDB.

Every version `mlplatform models publish` writes is recorded here (the client's registry.py): the version's bucket
URI as its `source`, the manifest's SHA-256, the signing key's id and the publisher as tags. The server records and
never serves files (--no-serve-artifacts), so it holds no grant on the model bucket, whose writes stay fenced to the
publishers. One server per stack, on the model sync's primary: the one target whose bucket takes publishes.
"""

from __future__ import annotations

import pulumi

from components.model_registry import routes, workload
from components.model_registry.contract import NAME, NAMESPACE, PATH_PREFIX, ModelRegistryArgs, RegistryDatabase
from components.model_registry.contract import RegistryGateway as RegistryGateway

__all__ = ["ModelRegistry", "ModelRegistryArgs", "RegistryDatabase", "RegistryGateway"]


class ModelRegistry(pulumi.ComponentResource):
    path: str  # PATH_PREFIX: the registry's path on the gateway
    service: str  # the in-cluster address, for a port-forward where the gateway does not expose it
    exposed: bool  # routed through the gateway (behind its authentication)

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:models:ModelRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=list(args.after))
        workload.install(self, name, args, child)
        if args.gateway is not None:
            routes.install(self, name, args.gateway, child)
        self.path = PATH_PREFIX
        self.service = f"{NAME}.{NAMESPACE}.svc.cluster.local"
        self.exposed = args.gateway is not None
        self.register_outputs({"path": self.path, "service": self.service, "exposed": self.exposed})
