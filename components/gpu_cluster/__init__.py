"""GpuCluster: Kubernetes with a system pool, spot GPU pools and on-demand fallback, per target."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_kubernetes as k8s

from components.gpu_cluster.contract import (
    ClusterNetwork,
    ClusterOutputs,
    GpuClusterArgs,
    GpuPool,
    SystemPool,
    WorkloadIdentity,
)
from components.per_cloud import implementation
from components.target import Cloud

__all__ = ["GpuCluster", "GpuClusterArgs", "GpuPool", "SystemPool"]

Build = Callable[[pulumi.ComponentResource, str, GpuClusterArgs], ClusterOutputs]
IMPLEMENTATIONS: dict[Cloud, str] = {
    "aws": "components.gpu_cluster.aws",
    "gcp": "components.gpu_cluster.gcp",
    "azure": "components.gpu_cluster.azure",
}


class GpuCluster(pulumi.ComponentResource):
    """One Kubernetes cluster per target; the cloud is chosen by ``args.target``."""

    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider
    identity: WorkloadIdentity
    network: ClusterNetwork
    node_identity: pulumi.Output[str]
    resource_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:compute:GpuCluster", name, None, opts)
        build: Build = implementation("GpuCluster", IMPLEMENTATIONS, args.target.cloud).build
        outputs = build(self, name, args)
        self.cluster_name = outputs.cluster_name
        self.kubeconfig = pulumi.Output.secret(outputs.kubeconfig)
        self.k8s_provider = outputs.k8s_provider
        self.identity = outputs.identity
        self.network = outputs.network
        self.node_identity = outputs.node_identity
        self.resource_id = outputs.resource_id
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "oidcIssuerUrl": self.identity.oidc_issuer_url,
                "nodeIdentity": self.node_identity,
            }
        )
