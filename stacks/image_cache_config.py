"""`mlplatform:imageCache`: the Triton image already on a new GPU node, so a replica's start skips its pull.

The pull is the longest phase of a cold start (about 259 s of 430-440 s, components/data/cold_start.yaml). Only the
options whose arguments the installed provider SDKs carry are offered:

- `gkeDiskImage`: a disk image holding the Triton image (built with Google's gke-disk-image-builder), given to every
  GKE GPU node as a secondary boot disk in CONTAINER_IMAGE_CACHE mode, with image streaming (GCFS) on, which the
  feature needs. The disk is created beside the node and, per Google, does not usually add to provisioning time.
- `eksSnapshots`: per AWS region, an EBS snapshot of a Bottlerocket data volume that holds the Triton image (made by
  the aws-samples/bottlerocket-images-cache script, docs/OPERATIONS.md "Cold start"). The EKS GPU node groups of a
  target in that region run Bottlerocket's NVIDIA node image, whose data volume (/dev/xvdb, where containerd keeps
  its images) is created from the snapshot at a provisioned initialization rate (components/gpu_cluster/
  aws_image_cache.py). Snapshots are regional: a region without one keeps AL2023 and pulls.

AKS artifact streaming has no field in the installed azure-native SDK (3.29: no artifactStreamingProfile on
AgentPool or ManagedCluster), so it is not offered (docs/OPERATIONS.md, "Cold start").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.target import Cloud
from stacks.regions import AWS_REGIONS
from stacks.validate import ConfigError, mapping, string

KEYS = {"gkeDiskImage", "eksSnapshots"}
# global/images/NAME in the cluster's project, or projects/PROJECT/global/images/NAME (GCE image names: RFC 1035).
_DISK_IMAGE = re.compile(r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/)?global/images/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_SNAPSHOT = re.compile(r"^snap-([0-9a-f]{8}|[0-9a-f]{17})$")  # EC2 snapshot ids: 8 hex digits, or 17 since 2016


@dataclass(frozen=True)
class ImageCacheConfig:
    gke_disk_image: str | None = None
    eks_snapshots: Mapping[str, str] = field(default_factory=dict)
    """AWS region -> the snapshot id of a Bottlerocket data volume holding the Triton image."""

    def cached(self, cloud: Cloud, region: str = "") -> bool:
        """Whether new GPU nodes of this cloud (and, on AWS, region) already hold the Triton image."""
        if cloud == "gcp":
            return self.gke_disk_image is not None
        return cloud == "aws" and region in self.eks_snapshots

    def eks_snapshot(self, region: str) -> str | None:
        return self.eks_snapshots.get(region)


def parse_image_cache(key: str, value: Any) -> ImageCacheConfig:
    if value is None:
        return ImageCacheConfig()
    fields = mapping(key, value, KEYS)
    image = fields.get("gkeDiskImage")
    if image is not None:
        image = string(f"{key}.gkeDiskImage", image)
        if not _DISK_IMAGE.fullmatch(image):
            raise ConfigError(
                f"{key}.gkeDiskImage", f"{image!r} must be global/images/NAME or projects/PROJECT/global/images/NAME"
            )
    return ImageCacheConfig(gke_disk_image=image, eks_snapshots=_snapshots(f"{key}.eksSnapshots", fields))


def _snapshots(key: str, fields: Mapping[str, Any]) -> dict[str, str]:
    value = fields.get("eksSnapshots")
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise ConfigError(key, "expected a map of AWS region to snapshot id, e.g. {us-east-1: snap-0123456789abcdef0}")
    found = {}
    for region, snapshot in value.items():
        if region not in AWS_REGIONS:
            raise ConfigError(f"{key}.{region}", "not an AWS region the stack knows (stacks/regions.py)")
        snapshot = string(f"{key}.{region}", snapshot)
        if not _SNAPSHOT.fullmatch(snapshot):
            raise ConfigError(
                f"{key}.{region}", f"{snapshot!r} is not an EBS snapshot id (snap- and 8 or 17 hex digits)"
            )
        found[region] = snapshot
    return found
