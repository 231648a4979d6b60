"""Kueue's objects for a cluster's training pools, as plain manifests (pure: tests validate them against Kueue's CRD
schemas at the pinned version, tests/k8s_schemas/crds).

Per training pool two ResourceFlavors: `<pool>-spot` selects the spot pool's nodes, `<pool>-on-demand` its
on-demand fallback's (by the labels GpuCluster sets, components/scheduling.py), and carries the training taint's
toleration, which Kueue adds to the pods it admits there: only admitted training pods may land on a training node.

Quotas per team (Kueue 0.19, v1beta2; kueue.sigs.k8s.io/docs/concepts/cluster_queue "Cohort", and
/docs/concepts/cohort "Hierarchical Cohorts", read 2026-12): one ClusterQueue `train-<team>` per team, admitting only
the team's namespace, all in the Cohort `training`. A team's nominal quota is what `trainingTeams[].gpus` guarantees
it (whole nodes of each flavor, taken in the teams' order while the pool has nodes left); the rest of each pool's
capacity sits on the Cohort itself, which lends it to any team. A team borrows freely and gets its guarantee back by
preempting borrowers (reclaimWithinCohort: Any): a preempted job is requeued and resumes from its checkpoint.

Every ClusterQueue lists every spot flavor before every on-demand one: Kueue assigns the first flavor whose quota
fits and whose node labels the pod's node selector allows. That is how a job says what it may use
(mlplatform_client/jobs/manifest.py): a spot-only job selects `mlplatform.io/capacity: spot`, an on-demand job
`on-demand`, a job with fallback leaves capacity open and takes the on-demand flavor when the spot quota is spent
(Kueue docs, "Cluster Queue", flavor fungibility, read 2026-12). Quota running out is not spot being scarce:
waitForPodsReady (chart values, manager_config) evicts a job whose pods did not start in time, or whose
replacement pod after a reclaim did not, so it frees its quota and queues again; the fallback controller
(fallback.py) moves a job that was evicted so too often to on demand (docs/TRAINING.md, "Reclaims and fallback").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.scheduling import LABEL_ACCELERATOR, LABEL_CAPACITY, LABEL_POOL, TRAINING_TAINT

API_VERSION = "kueue.x-k8s.io/v1beta2"  # the storage version at the pinned chart (v1beta1 is deprecated there)
GPU = "nvidia.com/gpu"
COHORT = "training"
# The chart (github.com/kubernetes-sigs/kueue, charts/kueue at tag v0.19.2, read 2026-12): published to
# registry.k8s.io as an OCI chart; its release images are registry.k8s.io/kueue/kueue:<tag>
# (hack/helm-chart-package.sh at the tag rewrites the values to them; the values.yaml in git names staging images).
CHART = "oci://registry.k8s.io/kueue/charts/kueue"
VERSION = "0.19.2"
NAMESPACE = "kueue-system"
WEBHOOK_PORT, VISIBILITY_PORT = 9443, 8082  # charts/kueue/templates/manager/manager.yaml at the tag
PODS_READY_TIMEOUT = "10m"
"""How long an admitted job's pods may wait for nodes before Kueue evicts and requeues it (a spot pool that cannot
grow): GPU nodes take 3-7 minutes to join (preflight/data/create_times.yaml's node pools). The same bound holds for a
replacement pod after a reclaim (recoveryTimeout): each such eviction counts in the Workload's requeueState.count."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # every namespace carries its name as this label


@dataclass(frozen=True)
class TrainingTeam:
    """A team: a namespace `train-<name>`, a LocalQueue `<name>` there, a ClusterQueue `train-<name>`."""

    name: str
    gpus: int = 0
    """GPUs guaranteed to the team on each training flavor of a cluster (rounded up to whole nodes, while the pool
    has nodes left); 0: the team only borrows what no team is guaranteed."""


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
    key, value, effect = TRAINING_TAINT
    return {
        "apiVersion": API_VERSION,
        "kind": "ResourceFlavor",
        "metadata": {"name": flavor_name(pool, spot)},
        # Kueue adds these to an admitted pod (with the node labels as its node selector).
        "spec": {
            "nodeLabels": labels,
            "tolerations": [{"key": key, "operator": "Equal", "value": value, "effect": effect}],
        },
    }


def flavor_nodes(pool: TrainingPool, spot: bool) -> int:
    return pool.max_nodes if spot else pool.fallback_max_nodes


def team_nodes(pool: TrainingPool, spot: bool, teams: tuple[TrainingTeam, ...]) -> dict[str, int]:
    """Each team's guaranteed nodes of one flavor: its GPUs in whole nodes, in the teams' order while nodes are left."""
    left = flavor_nodes(pool, spot)
    taken: dict[str, int] = {}
    for team in teams:
        want = -(-team.gpus // pool.gpus_per_node)  # ceiling
        taken[team.name] = min(want, left)
        left -= taken[team.name]
    return taken


def _quota(pool: TrainingPool, spot: bool, nodes: int) -> dict[str, Any]:
    return {
        "name": flavor_name(pool, spot),
        "resources": [
            {"name": "cpu", "nominalQuota": nodes * pool.vcpus},
            {"name": "memory", "nominalQuota": f"{nodes * pool.memory_gib}Gi"},
            {"name": GPU, "nominalQuota": nodes * pool.gpus_per_node},
        ],
    }


def _flavors(pools: tuple[TrainingPool, ...], nodes: Callable[[TrainingPool, bool], int]) -> list[dict[str, Any]]:
    """Spot flavors first, then on-demand: the order Kueue tries them in."""
    return [_quota(pool, spot, nodes(pool, spot)) for spot in (True, False) for pool in pools]


def _resource_groups(flavors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"coveredResources": ["cpu", "memory", GPU], "flavors": flavors}]


def cohort(pools: tuple[TrainingPool, ...], teams: tuple[TrainingTeam, ...]) -> dict[str, Any]:
    """The pools' capacity no team is guaranteed, lent to every team's ClusterQueue."""

    def shared(pool: TrainingPool, spot: bool) -> int:
        return flavor_nodes(pool, spot) - sum(team_nodes(pool, spot, teams).values())

    return {
        "apiVersion": API_VERSION,
        "kind": "Cohort",
        "metadata": {"name": COHORT},
        "spec": {"resourceGroups": _resource_groups(_flavors(pools, shared))},
    }


def cluster_queue_name(team: str) -> str:
    return f"train-{team}"


def cluster_queue(
    pools: tuple[TrainingPool, ...], teams: tuple[TrainingTeam, ...], team: str, namespace: str
) -> dict[str, Any]:
    """One team's queue: its guarantee as nominal quota, borrowing the Cohort's, admitting its namespace only."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": cluster_queue_name(team)},
        "spec": {
            "cohortName": COHORT,
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}},
            "queueingStrategy": "BestEffortFIFO",  # a job that does not fit does not hold up smaller ones
            # A team gets its guarantee back from jobs borrowing it; jobs of one team never preempt each other.
            "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "Never"},
            "resourceGroups": _resource_groups(_flavors(pools, lambda p, s: team_nodes(p, s, teams)[team])),
        },
    }


def local_queue(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterQueue": cluster_queue_name(name)},
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
            f"  recoveryTimeout: {PODS_READY_TIMEOUT}",
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
