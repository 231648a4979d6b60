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
SNAPSHOT = "snap-0123456789abcdef0"
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


def test_no_cache_is_known_for_azure() -> None:
    with pytest.raises(ValueError, match="cached-image-seconds/azure"):
        cold_start("azure", "Standard_NC4as_T4_v3", 1.0, image_cached=True)


def test_an_eks_data_volume_from_a_snapshot_takes_the_pull_out_of_awss_cold_start() -> None:
    """429 s with the pull; with the image on a snapshot's volume, read at the 300 MiB/s initialization rate:
    120 node + 30 driver + 49.2 image + 0.34 copy + 19 load = 218.54, 219 s."""
    cached = cold_start("aws", "g4dn.xlarge", 1.0, image_cached=True)
    assert cached.phase("image").seconds == 49.2 and cached.total_seconds == 219
    assert round(14.4 * 1024 / 300, 1) == 49.2  # the table's triton-image-gib at the rate the launch template asks


def test_eks_snapshots_are_per_region_and_validated() -> None:
    aws = {**BASE, "mlplatform:targets": json.dumps([{"cloud": "aws", "region": "us-east-1"}])}
    config = parse_stack_config(
        {**aws, "mlplatform:imageCache": json.dumps({"eksSnapshots": {"us-east-1": SNAPSHOT}})}, stack="t"
    )
    assert config.image_cache.cached("aws", "us-east-1") and not config.image_cache.cached("aws", "eu-west-1")
    assert not config.image_cache.cached("gcp") and config.image_cache.eks_snapshot("us-east-1") == SNAPSHOT
    bad = (
        ({"eksSnapshots": {"us-east-1": "snap-1"}}, r"eksSnapshots\.us-east-1: 'snap-1' is not an EBS snapshot id"),
        ({"eksSnapshots": {"mars-1": SNAPSHOT}}, r"eksSnapshots\.mars-1: not an AWS region"),
        ({"eksSnapshots": []}, r"eksSnapshots: expected a map of AWS region to snapshot id"),
        ({"eksSnapshots": {"us-east-1": 7}}, r"eksSnapshots\.us-east-1: expected a string"),
    )
    for value, message in bad:
        with pytest.raises(ConfigError, match=message) as raised:
            parse_stack_config({**aws, "mlplatform:imageCache": json.dumps(value)}, stack="t")
        assert "\n" not in str(raised.value)


def test_eks_gpu_nodes_boot_bottlerocket_with_the_image_on_their_data_volume() -> None:
    """The snapshot's region gets Bottlerocket GPU groups whose launch template makes /dev/xvdb from the snapshot at
    300 MiB/s, and the device plugin DaemonSet stays off them (Bottlerocket runs its own); system nodes stay AL2023."""
    plan = stack_plan(
        [{"cloud": "aws", "region": "us-east-1"}],
        models=[MODEL],
        imageCache={"eksSnapshots": {"us-east-1": SNAPSHOT}},
        auth={"enabled": False},
    )
    groups = plan.of_type("eks:index:ManagedNodeGroup")
    gpu = [g for g in groups if g.inputs["amiType"] != "AL2023_x86_64_STANDARD"]
    assert gpu and {g.inputs["amiType"] for g in gpu} == {"BOTTLEROCKET_x86_64_NVIDIA"}
    assert all(g.inputs["labels"]["mlplatform.io/device-plugin"] == "node-image" for g in gpu)
    templates = [t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") if "-system-" not in t.name]
    assert templates
    for template in templates:
        (disk,) = template.inputs["blockDeviceMappings"]
        assert disk["deviceName"] == "/dev/xvdb"
        assert disk["ebs"]["snapshotId"] == SNAPSHOT and disk["ebs"]["volumeInitializationRate"] == 300
    (plugin,) = [
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("chart") == "nvidia-device-plugin"
    ]
    terms = plugin.inputs["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    expressions = terms["nodeSelectorTerms"][0]["matchExpressions"]
    assert {"key": "mlplatform.io/device-plugin", "operator": "DoesNotExist"} in expressions
    served = [r for r in plan.of_type("kubernetes:apps/v1:Deployment") if "-serving-m-" in r.name]
    assert served and {r.inputs["metadata"]["annotations"][COLD_START_ANNOTATION] for r in served} == {"219"}


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
