"""Sourced catalog of the VM machine types the platform may use for Kubernetes node pools.

Why it exists: the cluster autoscaler treats every machine type in one node pool as the same
shape (same vCPU count, memory, GPU count and GPU model), so a GPU pool that mixes shapes is
scheduled wrongly. Code that builds node pools needs the real figures to check that, to pick
default machine types for an accelerator, and to refuse an accelerator a cloud does not offer
in that form (Azure has no L4 size; A10G is an AWS-only variant of the A10).

Every figure was read in 2026-11 from the cloud's own documentation page named in the entry's
``source``. Memory is in GiB: AWS and Azure state GiB, and GCP's "GB" is 2^30 bytes (its VM
pricing page says so). ``gpu_memory_gib`` is per GPU as the pages state it; where a page lists
the instance total (AWS, GCP A3) it was divided by the GPU count.

An entry whose figures could not be confirmed in those pages was left out rather than guessed,
so a missing machine type means "not catalogued", not always "not offered".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")
ACCELERATORS: tuple[str, ...] = ("T4", "L4", "A10G", "A10", "A100", "H100")


@dataclass(frozen=True)
class MachineType:
    cloud: str  # "aws" | "gcp" | "azure"
    name: str  # exact API name
    vcpus: int
    memory_gib: float
    gpus: int  # 0 for CPU machines
    accelerator: str | None  # None for CPU machines
    gpu_memory_gib: int  # per GPU; 0 for CPU machines
    source: str  # documentation page the figures come from

    def __post_init__(self) -> None:
        # A malformed entry fails at import, not when a node pool is being planned.
        if self.cloud not in CLOUDS:
            raise ValueError(f"{self.name}: unknown cloud {self.cloud!r}")
        if self.accelerator is not None and self.accelerator not in ACCELERATORS:
            raise ValueError(f"{self.name}: unknown accelerator {self.accelerator!r}")
        has_gpu = self.gpus > 0
        if has_gpu != (self.accelerator is not None) or has_gpu != (self.gpu_memory_gib > 0):
            raise ValueError(f"{self.name}: gpus, accelerator and gpu_memory_gib disagree")


# AWS: GPU counts, total GPU memory, vCPUs and memory per size; GPU models from the EC2 user
# guide (G4dn: T4, G5: A10G, P4d: A100) and the Deadline Cloud docs (G6: L4).
_AWS_ECS_GPU = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-gpu.html"
_AWS_BATCH_GPU = "https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html"
_AWS_GENERAL = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/general-purpose-instances.html"
_AWS_G6 = "https://aws.amazon.com/ec2/instance-types/g6/"
_AWS_P5 = "https://aws.amazon.com/ec2/instance-types/p5/"
_AWS_M7I = "https://aws.amazon.com/ec2/instance-types/m7i/"

# GCP: G2 and A3 from the GPU machine types page; E2 from Vertex AI's machine type table.
_GCP_GPUS = "https://cloud.google.com/compute/docs/gpus"
_GCP_VERTEX = "https://cloud.google.com/vertex-ai/docs/predictions/configure-compute"
_GCP_GENERAL = "https://cloud.google.com/compute/docs/general-purpose-machines"

_AZURE_SIZES = "https://learn.microsoft.com/azure/virtual-machines/sizes"
_AZURE_T4 = f"{_AZURE_SIZES}/gpu-accelerated/ncast4v3-series"
_AZURE_A10 = f"{_AZURE_SIZES}/gpu-accelerated/nvadsa10v5-series"
_AZURE_A100 = f"{_AZURE_SIZES}/gpu-accelerated/nca100v4-series"
_AZURE_H100 = f"{_AZURE_SIZES}/gpu-accelerated/ncadsh100v5-series"
_AZURE_DSV5 = f"{_AZURE_SIZES}/general-purpose/dsv5-series"
_AZURE_DDSV5 = f"{_AZURE_SIZES}/general-purpose/ddsv5-series"

CATALOG: tuple[MachineType, ...] = (
    # AWS, T4
    MachineType("aws", "g4dn.xlarge", 4, 16, 1, "T4", 16, _AWS_ECS_GPU),
    MachineType("aws", "g4dn.2xlarge", 8, 32, 1, "T4", 16, _AWS_ECS_GPU),
    MachineType("aws", "g4dn.4xlarge", 16, 64, 1, "T4", 16, _AWS_ECS_GPU),
    MachineType("aws", "g4dn.12xlarge", 48, 192, 4, "T4", 16, _AWS_ECS_GPU),
    # AWS, A10G
    MachineType("aws", "g5.xlarge", 4, 16, 1, "A10G", 24, _AWS_ECS_GPU),
    MachineType("aws", "g5.2xlarge", 8, 32, 1, "A10G", 24, _AWS_ECS_GPU),
    MachineType("aws", "g5.4xlarge", 16, 64, 1, "A10G", 24, _AWS_ECS_GPU),
    MachineType("aws", "g5.12xlarge", 48, 192, 4, "A10G", 24, _AWS_ECS_GPU),
    # AWS, L4
    MachineType("aws", "g6.xlarge", 4, 16, 1, "L4", 24, _AWS_BATCH_GPU),
    MachineType("aws", "g6.2xlarge", 8, 32, 1, "L4", 24, _AWS_BATCH_GPU),
    MachineType("aws", "g6.4xlarge", 16, 64, 1, "L4", 24, _AWS_BATCH_GPU),
    MachineType("aws", "g6.12xlarge", 48, 192, 4, "L4", 24, _AWS_G6),
    # AWS, H100 80GB
    MachineType("aws", "p5.48xlarge", 192, 2048, 8, "H100", 80, _AWS_P5),
    # AWS, A100 (40 GB)
    MachineType("aws", "p4d.24xlarge", 96, 1152, 8, "A100", 40, _AWS_ECS_GPU),
    # AWS, CPU system machines
    MachineType("aws", "m6i.large", 2, 8, 0, None, 0, _AWS_GENERAL),
    MachineType("aws", "m6i.xlarge", 4, 16, 0, None, 0, _AWS_GENERAL),
    MachineType("aws", "t3.large", 2, 8, 0, None, 0, _AWS_GENERAL),
    MachineType("aws", "m7i.large", 2, 8, 0, None, 0, _AWS_M7I),
    MachineType("aws", "m7i.xlarge", 4, 16, 0, None, 0, _AWS_M7I),
    # GCP, T4: one nvidia-tesla-t4 attached to an N1 machine as a guest accelerator (16 GB GDDR6)
    MachineType("gcp", "n1-standard-4", 4, 15, 1, "T4", 16, _GCP_GPUS),
    MachineType("gcp", "n1-standard-8", 8, 30, 1, "T4", 16, _GCP_GPUS),
    # GCP, L4 (G2 attaches its GPUs itself)
    MachineType("gcp", "g2-standard-4", 4, 16, 1, "L4", 24, _GCP_GPUS),
    MachineType("gcp", "g2-standard-8", 8, 32, 1, "L4", 24, _GCP_GPUS),
    MachineType("gcp", "g2-standard-12", 12, 48, 1, "L4", 24, _GCP_GPUS),
    MachineType("gcp", "g2-standard-16", 16, 64, 1, "L4", 24, _GCP_GPUS),
    MachineType("gcp", "g2-standard-24", 24, 96, 2, "L4", 24, _GCP_GPUS),
    # GCP, A100 40GB
    MachineType("gcp", "a2-highgpu-1g", 12, 85, 1, "A100", 40, _GCP_GPUS),
    # GCP, H100 80GB
    MachineType("gcp", "a3-highgpu-8g", 208, 1872, 8, "H100", 80, _GCP_GPUS),
    # GCP, CPU system machines
    MachineType("gcp", "e2-standard-2", 2, 8, 0, None, 0, _GCP_VERTEX),
    MachineType("gcp", "e2-standard-4", 4, 16, 0, None, 0, _GCP_VERTEX),
    MachineType("gcp", "n2-standard-2", 2, 8, 0, None, 0, _GCP_GENERAL),
    MachineType("gcp", "n2-standard-4", 4, 16, 0, None, 0, _GCP_GENERAL),
    # Azure, T4
    MachineType("azure", "Standard_NC4as_T4_v3", 4, 28, 1, "T4", 16, _AZURE_T4),
    MachineType("azure", "Standard_NC8as_T4_v3", 8, 56, 1, "T4", 16, _AZURE_T4),
    MachineType("azure", "Standard_NC16as_T4_v3", 16, 110, 1, "T4", 16, _AZURE_T4),
    MachineType("azure", "Standard_NC64as_T4_v3", 64, 440, 4, "T4", 16, _AZURE_T4),
    # Azure, A10: smaller NVadsA10 v5 sizes carry a fraction of a GPU and are left out.
    MachineType("azure", "Standard_NV36ads_A10_v5", 36, 440, 1, "A10", 24, _AZURE_A10),
    MachineType("azure", "Standard_NV72ads_A10_v5", 72, 880, 2, "A10", 24, _AZURE_A10),
    # Azure, A100 80GB PCIe
    MachineType("azure", "Standard_NC24ads_A100_v4", 24, 220, 1, "A100", 80, _AZURE_A100),
    # Azure, H100 NVL (94 GB)
    MachineType("azure", "Standard_NC40ads_H100_v5", 40, 320, 1, "H100", 94, _AZURE_H100),
    # Azure, CPU system machines
    MachineType("azure", "Standard_D2s_v5", 2, 8, 0, None, 0, _AZURE_DSV5),
    MachineType("azure", "Standard_D4s_v5", 4, 16, 0, None, 0, _AZURE_DSV5),
    MachineType("azure", "Standard_D2ds_v5", 2, 8, 0, None, 0, _AZURE_DDSV5),
    MachineType("azure", "Standard_D4ds_v5", 4, 16, 0, None, 0, _AZURE_DDSV5),
)

# GKE guest accelerator type per accelerator. On GCP a T4 is not a machine type of its own:
# it is attached to an N1 machine through guest_accelerators with type "nvidia-tesla-t4".
GCP_ACCELERATOR_TYPES: dict[str, str] = {
    "T4": "nvidia-tesla-t4",
    "L4": "nvidia-l4",
    "A100": "nvidia-tesla-a100",  # A100 40GB
    "H100": "nvidia-h100-80gb",
}

_BY_KEY: dict[tuple[str, str], MachineType] = {(m.cloud, m.name): m for m in CATALOG}


def gpus_priced_apart(cloud: str, name: str) -> bool:
    """Whether a machine type's price leaves out its GPUs, which are then priced as accelerators of their own.

    On GCP an N1 machine has no GPU of its own: a T4 is attached as a guest accelerator and priced apart
    (cloud.google.com/compute/gpus-pricing, read 2026-11). G2, A2 and A3 prices include their GPUs, as every
    AWS and Azure size's does. The program's node prices and `preflight cost` both price GPUs by this rule.
    """
    return cloud == "gcp" and name.startswith("n1-")


def attached_accelerator(m: MachineType) -> str | None:
    """The accelerator type priced apart from a catalogued machine, or None when the machine's price includes it."""
    if m.accelerator is None or not gpus_priced_apart(m.cloud, m.name):
        return None
    return GCP_ACCELERATOR_TYPES[m.accelerator]


def _check_cloud(cloud: str) -> None:
    # A misspelt cloud must not read as "this cloud offers nothing".
    if cloud not in CLOUDS:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")


def machine(cloud: str, name: str) -> MachineType | None:
    """The catalogued machine type, or None: lets callers look up figures by the exact API name."""
    _check_cloud(cloud)
    return _BY_KEY.get((cloud, name))


def machines_for(cloud: str, accelerator: str) -> list[MachineType]:
    """Machine types carrying this accelerator, smallest first, to pick node pool defaults from."""
    _check_cloud(cloud)
    found = [m for m in CATALOG if m.cloud == cloud and m.accelerator == accelerator]
    return sorted(found, key=lambda m: (m.vcpus, m.name))


def accelerators(cloud: str) -> set[str]:
    """Accelerators the catalog holds for a cloud, to reject a request the cloud cannot serve."""
    _check_cloud(cloud)
    return {m.accelerator for m in CATALOG if m.cloud == cloud and m.accelerator is not None}


def _shape(m: MachineType) -> tuple[int, float, int, str | None]:
    return (m.vcpus, m.memory_gib, m.gpus, m.accelerator)


def _describe(m: MachineType) -> str:
    gpus = f"{m.gpus} {m.accelerator}" if m.accelerator else "no GPU"
    return f"{m.vcpus} vCPU, {m.memory_gib:g} GiB, {gpus}"


def unlike(machines: Sequence[MachineType]) -> str | None:
    """None when all machine types have one shape, else a sentence naming the first two that differ.

    The cluster autoscaler sizes a node pool from one of its machine types, so every type in a
    pool must have the same vCPU count, memory, GPU count and GPU model.
    """
    if not machines:
        return None
    first = machines[0]
    for other in machines[1:]:
        if _shape(other) != _shape(first):
            return f"{first.name} has {_describe(first)}; {other.name} has {_describe(other)}"
    return None
