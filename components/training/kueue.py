"""Kueue's objects for a cluster's training pools, as plain manifests (pure: tests validate them against Kueue's CRD
schemas at the pinned version, tests/k8s_schemas/crds).

Per training pool two ResourceFlavors: `<pool>-spot` selects the spot pool's nodes, `<pool>-on-demand` its
on-demand fallback's (by the labels GpuCluster sets, components/scheduling.py), so an admitted pod lands on a
training node and never on serving's. One ClusterQueue lists every spot flavor before every on-demand one, each
with the quota its pool can grow to: Kueue assigns the first flavor whose quota fits and whose node labels the pod's
node selector allows. That is how a job says what it may use (mlplatform_client/jobs/manifest.py): a spot-only job
selects `mlplatform.io/capacity: spot`, an on-demand job `on-demand`, a job with fallback leaves capacity open and
takes the on-demand flavor when the spot quota is spent (Kueue docs, "Cluster Queue", flavor fungibility, read
2026-12). Quota running out is not spot being scarce: waitForPodsReady (chart values, kueue.py's
manager_config) evicts a job whose pods did not start in time, so it frees its quota and queues again
(docs/TRAINING.md, "Reclaims and fallback").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.scheduling import LABEL_ACCELERATOR, LABEL_CAPACITY, LABEL_POOL

API_VERSION = "kueue.x-k8s.io/v1beta2"  # the storage version at the pinned chart (v1beta1 is deprecated there)
GPU = "nvidia.com/gpu"
CLUSTER_QUEUE = "training"
# The chart (github.com/kubernetes-sigs/kueue, charts/kueue at tag v0.19.2, read 2026-12): published to
# registry.k8s.io as an OCI chart; its release images are registry.k8s.io/kueue/kueue:<tag>
# (hack/helm-chart-package.sh at the tag rewrites the values to them; the values.yaml in git names staging images).
CHART = "oci://registry.k8s.io/kueue/charts/kueue"
VERSION = "0.19.2"
NAMESPACE = "kueue-system"
WEBHOOK_PORT, VISIBILITY_PORT = 9443, 8082  # charts/kueue/templates/manager/manager.yaml at the tag
PODS_READY_TIMEOUT = "10m"
"""How long an admitted job's pods may wait for nodes before Kueue evicts and requeues it (a spot pool that cannot
grow): GPU nodes take 3-7 minutes to join (preflight/data/create_times.yaml's node pools)."""


@dataclass(frozen=True)
class TrainingPool:
    """One training pool on the cluster: the spot pool and its on-demand fallback, with one node's size."""

    name: str
    fallback_name: str
    accelerator: str
    gpus_per_node: int
    vcpus: int
    memory_gib: int
    max_nodes: int
    fallback_max_nodes: int


def flavor_name(pool: TrainingPool, spot: bool) -> str:
    return f"{pool.name}-{'spot' if spot else 'on-demand'}"


def resource_flavor(pool: TrainingPool, spot: bool) -> dict[str, Any]:
    labels = {
        LABEL_POOL: pool.name if spot else pool.fallback_name,
        LABEL_ACCELERATOR: pool.accelerator.lower(),
        LABEL_CAPACITY: "spot" if spot else "on-demand",
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "ResourceFlavor",
        "metadata": {"name": flavor_name(pool, spot)},
        "spec": {"nodeLabels": labels},
    }


def _quota(pool: TrainingPool, spot: bool) -> dict[str, Any]:
    nodes = pool.max_nodes if spot else pool.fallback_max_nodes
    return {
        "name": flavor_name(pool, spot),
        "resources": [
            {"name": "cpu", "nominalQuota": nodes * pool.vcpus},
            {"name": "memory", "nominalQuota": f"{nodes * pool.memory_gib}Gi"},
            {"name": GPU, "nominalQuota": nodes * pool.gpus_per_node},
        ],
    }


def cluster_queue(pools: tuple[TrainingPool, ...]) -> dict[str, Any]:
    """Spot flavors first, then on-demand: the order Kueue tries them in. Every namespace's LocalQueue may use it
    (namespaceSelector {}): the LocalQueues are the platform's own (components/training)."""
    flavors = [_quota(pool, True) for pool in pools] + [_quota(pool, False) for pool in pools]
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": CLUSTER_QUEUE},
        "spec": {
            "namespaceSelector": {},
            "queueingStrategy": "BestEffortFIFO",  # a job that does not fit does not hold up smaller ones
            "resourceGroups": [{"coveredResources": ["cpu", "memory", GPU], "flavors": flavors}],
        },
    }


def local_queue(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterQueue": CLUSTER_QUEUE},
    }


def manager_config() -> str:
    """The chart's controller configuration (managerConfig.controllerManagerConfigYaml): batch Jobs only, and
    waitForPodsReady so a job whose nodes never come is evicted and requeued (its quota freed)."""
    return "\n".join(
        [
            "apiVersion: config.kueue.x-k8s.io/v1beta2",
            "kind: Configuration",
            "health:",
            "  healthProbeBindAddress: :8081",
            "metrics:",
            "  bindAddress: :8443",
            "webhook:",
            f"  port: {WEBHOOK_PORT}",
            "leaderElection:",
            "  leaderElect: true",
            "  resourceName: c1f6bfd2.kueue.x-k8s.io",
            "waitForPodsReady:",
            f"  timeout: {PODS_READY_TIMEOUT}",
            "  blockAdmission: false",
            "  requeuingStrategy:",
            "    timestamp: Eviction",
            "    backoffBaseSeconds: 60",
            "    backoffMaxSeconds: 3600",
            "integrations:",
            "  frameworks:",
            '  - "batch/job"',
            "",
        ]
    )


def chart_values() -> dict[str, Any]:
    """The chart's images stay its own at the pinned version (registry.k8s.io/kueue/kueue:v0.19.2, listed in
    components/data/images.yaml); KueueViz, Prometheus and cert-manager integration stay off (the chart's defaults)."""
    return {"managerConfig": {"controllerManagerConfigYaml": manager_config()}}
