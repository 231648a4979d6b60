"""EKS GPU nodes that boot with the Triton image already on disk: Bottlerocket's data volume from a snapshot.

Bottlerocket keeps containerd's images on its second volume (/dev/xvdb); a snapshot of that volume taken after
pulling the Triton image (aws-samples/bottlerocket-images-cache, snapshot.sh) gives every new node the image at boot
("specify snapshot ID on volume with device name /dev/xvdb only", that repository's README, read 2026-12). AL2023's
containerd keeps images on the root volume, which a launch template cannot take from a snapshot of our own, hence the
node image changes to BOTTLEROCKET_x86_64_NVIDIA where a snapshot is configured (stacks/image_cache_config.py).

A volume made from a snapshot fetches its blocks from S3 as they are first read ("volume initialization", Amazon EBS
User Guide, "Initialize Amazon EBS volumes", read 2026-12): reading the image off a fresh volume would be slow and
unpredictable. The block device mapping asks for the Provisioned Rate for Volume Initialization at its maximum,
300 MiB/s (allowed 100-300), so the volume is whole in snapshot-data / rate (the cold-start table's
cached-image-seconds/aws). That rate is charged per GiB of snapshot data per MiB/s at each node launch; the figure
is on the EBS pricing page, which could not be read here, so `preflight cost` leaves it out (docs/COST.md).

Bottlerocket's NVIDIA variants run NVIDIA's device plugin themselves: the nodes carry BUILTIN_DEVICE_PLUGIN, and the
serving stack's device plugin DaemonSet stays off them (components/serving_stack/addons.py).
"""

from __future__ import annotations

import pulumi_aws as aws

from components.scheduling import LABEL_DEVICE_PLUGIN

BOTTLEROCKET_GPU_AMI = "BOTTLEROCKET_x86_64_NVIDIA"  # EKS AMI type: Bottlerocket with the NVIDIA driver and plugin
DATA_DEVICE = "/dev/xvdb"  # Bottlerocket's data volume: containerd's images live there
INITIALIZATION_MIB_PER_SECOND = 300  # the Provisioned Rate for Volume Initialization's maximum
BUILTIN_DEVICE_PLUGIN = {LABEL_DEVICE_PLUGIN: "node-image"}


def data_volume(snapshot_id: str, size_gib: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgsDict:
    """The data volume from the snapshot (its encryption is the snapshot's: `encrypted` may not be set with one)."""
    return {
        "device_name": DATA_DEVICE,
        "ebs": {
            "snapshot_id": snapshot_id,
            "volume_size": size_gib,
            "volume_type": "gp3",
            "volume_initialization_rate": INITIALIZATION_MIB_PER_SECOND,
            "delete_on_termination": "true",
        },
    }
