"""One GPU taint and label convention on every cloud, so serving schedules the same way everywhere.

Every GPU node carries the taint `nvidia.com/gpu=present:NoSchedule` (only pods that
tolerate it land there) and these labels. What a cloud adds by itself is listed beside:
serving must tolerate those too.

A neutral contract between two components: GpuCluster puts these taints and labels on its
nodes, ServingStack (and the observability values) select and tolerate them. Neither reads
the other's modules for them.
"""

from __future__ import annotations

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"  # Kubernetes spelling; EKS's API spells it NO_SCHEDULE
# Training pools' nodes (mlplatform:trainingPools) carry this taint too: only pods Kueue admits onto a training flavor
# get its toleration (the ResourceFlavor's spec.tolerations, components/training/kueue.py), so no serving pod lands
# on a training node, whatever it selects. Node agents that must run everywhere tolerate it (the device plugin).
TRAINING_TAINT = ("mlplatform.io/training", "true", "NoSchedule")
# EKS's and GKE's APIs spell taint effects in upper snake case.
API_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

LABEL_ROLE = "mlplatform.io/role"  # "system" or "gpu"
LABEL_POOL = "mlplatform.io/pool"  # the pool's name from config
LABEL_ACCELERATOR = "mlplatform.io/accelerator"  # lowercase model: t4, l4, a10g, a10, a100, h100
LABEL_CAPACITY = "mlplatform.io/capacity"  # "spot" or "on-demand"
LABEL_FALLBACK = "mlplatform.io/fallback"  # "true" on the on-demand pools used only when spot cannot be had
# Why a GPU pool runs on demand though it is no fallback (`spot: false` in config must say why); the policy pack
# admits such a pool only with this label, and lists every one as advisory.
LABEL_ON_DEMAND_REASON = "mlplatform.io/on-demand-reason"
# GPU nodes whose node image runs NVIDIA's device plugin itself (EKS Bottlerocket, components/gpu_cluster/
# aws_image_cache.py): the serving stack's device plugin DaemonSet stays off nodes carrying it.
LABEL_DEVICE_PLUGIN = "mlplatform.io/device-plugin"

# Added by the clouds themselves, not by us:
AKS_SPOT_TAINT = ("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")  # on every AKS spot pool
# GKE labels spot nodes cloud.google.com/gke-spot=true and EKS managed nodes eks.amazonaws.com/capacityType=SPOT or
# ON_DEMAND; nothing selects on those: every cloud's pools carry LABEL_CAPACITY instead.

# GKE custom ComputeClasses (components/gpu_cluster/gcp_compute_class.py): a node pool serves a class only if it
# carries this label and a NoSchedule taint of this key, both valued with the class; workloads select the class
# with the same label in their nodeSelector (GKE docs, "About custom ComputeClasses", read 2026-11).
COMPUTE_CLASS_LABEL = "cloud.google.com/compute-class"


def compute_class_name(accelerator: str) -> str:
    """The GKE ComputeClass for an accelerator (one per accelerator); names starting with 'gke' or 'autopilot' are
    reserved."""
    return f"gpu-{accelerator.lower()}"


def gpu_labels(pool: str, accelerator: str, spot: bool, fallback: bool, on_demand_reason: str = "") -> dict[str, str]:
    labels = {
        LABEL_ROLE: "gpu",
        LABEL_POOL: pool,
        LABEL_ACCELERATOR: accelerator.lower(),
        LABEL_CAPACITY: "spot" if spot else "on-demand",
    }
    if fallback:
        labels[LABEL_FALLBACK] = "true"
    if on_demand_reason and not spot:
        labels[LABEL_ON_DEMAND_REASON] = on_demand_reason
    return labels


def gpu_taints(training: bool) -> tuple[tuple[str, str, str], ...]:
    """(key, value, effect) of every taint a GPU pool declares, in Kubernetes spelling: the GPU taint, and the training
    taint on a training pool's nodes (its spot pool and its on-demand fallback alike)."""
    gpu = (GPU_TAINT_KEY, GPU_TAINT_VALUE, GPU_TAINT_EFFECT)
    return (gpu, TRAINING_TAINT) if training else (gpu,)


def system_labels(spot: bool = False) -> dict[str, str]:
    return {LABEL_ROLE: "system", LABEL_CAPACITY: "spot" if spot else "on-demand"}
