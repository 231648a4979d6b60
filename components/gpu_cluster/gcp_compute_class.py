"""Spot first, on-demand only when spot cannot be had: GKE custom ComputeClasses over our node pools.

One ComputeClass per accelerator (``gpu-l4``, ``gpu-t4``...). Its priorities name the
accelerator's spot node pools first, then its other on-demand pools, then the fallback
pools; GKE's cluster autoscaler scales up the first group it can get capacity in.
Workloads select the class with the node selector ``cloud.google.com/compute-class: gpu-l4``.

Facts (GKE docs, "About custom ComputeClasses", read 2026-11; CRD schema cloud.google.com/v1):
- manually created node pools serve a class only if they carry the node label
  ``cloud.google.com/compute-class=<class>`` and the taint
  ``cloud.google.com/compute-class=<class>:NoSchedule``; each pool serves one class;
- ``priorities[].nodepools`` lists pools with no order among them; separate entries are tried
  in order; nodepools entries take no other field (and no ``priorityDefaults``);
- ``whenUnsatisfiable`` (``DoNotScaleUp`` or ``ScaleUpAnyway``) is required; its default
  changed in GKE 1.33, so it is set explicitly;
- ``activeMigration.optimizeRulePriority`` moves workloads back to higher-priority (spot)
  nodes once they can be had again;
- Standard clusters need GKE 1.30.3-gke.1451000 or later.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.gpu_cluster.contract import GpuClusterArgs, GpuPool
from components.scheduling import COMPUTE_CLASS_LABEL, compute_class_name

API_VERSION = "cloud.google.com/v1"
KIND = "ComputeClass"
MIN_GKE_VERSION = (1, 30, 3, 1451000)  # 1.30.3-gke.1451000


def classes(pools: Sequence[GpuPool]) -> dict[str, list[GpuPool]]:
    """Pools grouped by the class they serve, in config order."""
    grouped: dict[str, list[GpuPool]] = {}
    for pool in pools:
        grouped.setdefault(compute_class_name(pool.accelerator), []).append(pool)
    return grouped


def node_label(pool: GpuPool) -> dict[str, str]:
    return {COMPUTE_CLASS_LABEL: compute_class_name(pool.accelerator)}


def priorities(pools: Sequence[GpuPool]) -> list[dict[str, list[str]]]:
    """Spot pools, then plain on-demand pools, then the fallback pools: one entry per non-empty tier."""
    tiers = (
        [p for p in pools if p.spot and not p.fallback],
        [p for p in pools if not p.spot and not p.fallback],
        [p for p in pools if p.fallback],
    )
    return [{"nodepools": [p.name for p in tier]} for tier in tiers if tier]  # GKE node pool names


def spec(accelerator: str, pools: Sequence[GpuPool]) -> dict[str, object]:
    return {
        "description": f"{accelerator} GPUs: spot node pools first, on-demand only when spot cannot be had.",
        "priorities": priorities(pools),
        "nodePoolAutoCreation": {"enabled": False},  # only the node pools we manage
        "whenUnsatisfiable": "DoNotScaleUp",
        "activeMigration": {"optimizeRulePriority": True},
    }


def build_compute_classes(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    k8s_provider: k8s.Provider,
    depends_on: Sequence[pulumi.Resource],
) -> list[k8s.apiextensions.CustomResource]:
    """One ComputeClass per accelerator, applied with the cluster's own Kubernetes provider."""
    created = []
    for cls, pools in classes(args.gpu_pools).items():
        created.append(
            k8s.apiextensions.CustomResource(
                f"{name}-{cls}",
                api_version=API_VERSION,
                kind=KIND,
                metadata={"name": cls},  # cluster-scoped
                spec=spec(pools[0].accelerator, pools),
                opts=pulumi.ResourceOptions(parent=parent, provider=k8s_provider, depends_on=list(depends_on)),
            )
        )
    return created
