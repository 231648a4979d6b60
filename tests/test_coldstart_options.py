"""mlplatform:imageCache: GKE GPU nodes get the Triton image from a secondary boot disk, and the cold start drops the
pull on GCP only (components/data/cold_start.yaml, cached-image-seconds/gcp)."""

from __future__ import annotations

import json

import pytest

from components.cold_start import COLD_START_ANNOTATION, cold_start
from stacks.config import parse_stack_config
from stacks.validate import ConfigError
from tests.helpers import stack_plan

DISK = "projects/ml-cache-123/global/images/triton-2605-cache"
MODEL = {"name": "m", "accelerator": "T4", "stable": {"name": "v1", "path": "m/v1"}}
BASE = {
    "mlplatform:environment": "dev",
    "mlplatform:owner": "ml-platform",
    "mlplatform:costCenter": "ml-serving",
    "mlplatform:targets": json.dumps([{"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"}]),
}


def test_a_cached_image_takes_the_pull_out_of_gcps_cold_start() -> None:
    """440 s with the 259.2 s pull; 180.1 s without it: 120 node + 40 driver + 1.07 copy + 19 load, rounded up."""
    assert cold_start("gcp", "n1-standard-4", 1.0).total_seconds == 440
    cached = cold_start("gcp", "n1-standard-4", 1.0, image_cached=True)
    assert cached.phase("image").seconds == 0 and cached.total_seconds == 181


def test_no_cache_is_known_for_the_other_clouds() -> None:
    with pytest.raises(ValueError, match="cached-image-seconds/aws"):
        cold_start("aws", "g4dn.xlarge", 1.0, image_cached=True)


def test_the_disk_image_is_validated() -> None:
    assert parse_stack_config(BASE, stack="t").image_cache.cached("gcp") is False
    config = parse_stack_config({**BASE, "mlplatform:imageCache": json.dumps({"gkeDiskImage": DISK})}, stack="t")
    assert config.image_cache.cached("gcp") and not config.image_cache.cached("aws")
    for bad in ({"gkeDiskImage": "triton"}, {"gkeDiskImage": 3}, {"eksSnapshot": "snap-1"}):
        with pytest.raises(ConfigError, match=r"mlplatform:imageCache\."):
            parse_stack_config({**BASE, "mlplatform:imageCache": json.dumps(bad)}, stack="t")


def test_gke_gpu_nodes_read_the_image_from_a_secondary_boot_disk() -> None:
    plan = stack_plan(
        [{"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"}],
        models=[MODEL],
        imageCache={"gkeDiskImage": DISK},
        auth={"enabled": False},
    )
    pools = [
        r for r in plan.of_type("gcp:container/nodePool:NodePool") if r.inputs["nodeConfig"].get("guestAccelerators")
    ]
    assert pools
    for pool in pools:
        node = pool.inputs["nodeConfig"]
        assert node["gcfsConfig"] == {"enabled": True}
        assert node["secondaryBootDisks"] == [{"diskImage": DISK, "mode": "CONTAINER_IMAGE_CACHE"}]
    system = [r for r in plan.of_type("gcp:container/nodePool:NodePool") if r not in pools]
    assert all("secondaryBootDisks" not in r.inputs["nodeConfig"] for r in system)
    served = [r for r in plan.of_type("kubernetes:apps/v1:Deployment") if "-serving-m-" in r.name]
    assert served and {r.inputs["metadata"]["annotations"][COLD_START_ANNOTATION] for r in served} == {"181"}
