"""The Registry contract: a private image registry per target that its cluster can pull from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.target import Target


@dataclass(frozen=True)
class RegistryArgs:
    """Defaults are safe and cheap (dev)."""

    target: Target
    puller: pulumi.Output[str]
    """The cluster's node identity that gets read-only pull access: the EKS node role ARN, the
    GKE node service account email, the AKS kubelet identity's object id (GpuCluster.node_identity)."""
    keep_images: int = 30
    """Tagged images kept per repository by the cleanup policy; untagged ones expire."""
    untagged_days: int = 7
    """Days an untagged image (a layer left behind by a re-push) survives before cleanup."""
    acr_sku: str = "Basic"
    """Azure only: Basic, Standard or Premium (Premium is needed for zone redundancy)."""
    zone_redundant: bool = False
    retain: bool = False
    """Protect the registry in Pulumi and keep it in the cloud if it leaves the program (prod)."""
    manage_scanning: bool = False
    """AWS only: write the account's ECR registry scanning configuration (basic scan on push for
    this project's repositories). Off by default: that setting is one per account and region, so
    writing it replaces what other teams set there (Inspector's enhanced scanning, their rules)."""
    mirror_upstreams: tuple[str, ...] = ()
    """Upstream registry hosts (docker.io, quay.io, ...) to serve through this registry as pull-through caches
    (`mlplatform:mirrorImages`). Each cloud mirrors those its cache supports without credentials and leaves the rest
    out of `RegistryOutputs.mirrors`, so their images stay direct."""


# The short name each upstream's cache goes by inside a registry (an ECR prefix, an Artifact Registry repository, an
# ACR repository path).
MIRROR_SLUGS: dict[str, str] = {
    "docker.io": "docker-hub",
    "quay.io": "quay",
    "registry.k8s.io": "k8s",
    "ghcr.io": "ghcr",
    "nvcr.io": "nvcr",
    "reg.kyverno.io": "kyverno",
}


@dataclass(frozen=True)
class RegistryOutputs:
    image_prefix: pulumi.Output[str]
    """Where images are pushed and pulled: `<prefix>/<image>:<tag>`, e.g.
    123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplatform, us-central1-docker.pkg.dev/PROJECT/REPO,
    NAME.azurecr.io/mlplatform."""
    registry_id: pulumi.Output[str]
    """What an IAM grant points at: the ECR repository ARN or prefix, the Artifact Registry
    repository id, the ACR resource id."""
    mirrors: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Upstream host -> the prefix its images are pulled through (`<prefix>/<path>:<tag>`), for each mirrored one."""
