"""`mlplatform:imageCache`: the Triton image already on a new GPU node, so a replica's start skips its pull.

The pull is the longest phase of a cold start (about 259 s of 430-440 s, components/data/cold_start.yaml). Only the
options whose arguments the installed provider SDKs carry are offered:

- `gkeDiskImage`: a disk image holding the Triton image (built with Google's gke-disk-image-builder), given to every
  GKE GPU node as a secondary boot disk in CONTAINER_IMAGE_CACHE mode, with image streaming (GCFS) on, which the
  feature needs. The disk is created beside the node and, per Google, does not usually add to provisioning time.

AKS artifact streaming has no field in the installed azure-native SDK, and an EKS data volume from a snapshot needs a
Bottlerocket node image the EKS pools do not use: neither is offered yet (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.target import Cloud
from stacks.validate import ConfigError, mapping, string

KEYS = {"gkeDiskImage"}
# global/images/NAME in the cluster's project, or projects/PROJECT/global/images/NAME (GCE image names: RFC 1035).
_DISK_IMAGE = re.compile(r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/)?global/images/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ImageCacheConfig:
    gke_disk_image: str | None = None

    def cached(self, cloud: Cloud) -> bool:
        """Whether new GPU nodes on this cloud already hold the Triton image."""
        return cloud == "gcp" and self.gke_disk_image is not None


def parse_image_cache(key: str, value: Any) -> ImageCacheConfig:
    if value is None:
        return ImageCacheConfig()
    fields = mapping(key, value, KEYS)
    image = fields.get("gkeDiskImage")
    if image is None:
        return ImageCacheConfig()
    image = string(f"{key}.gkeDiskImage", image)
    if not _DISK_IMAGE.fullmatch(image):
        raise ConfigError(
            f"{key}.gkeDiskImage", f"{image!r} must be global/images/NAME or projects/PROJECT/global/images/NAME"
        )
    return ImageCacheConfig(gke_disk_image=image)
