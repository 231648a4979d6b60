"""Plan warning: a cluster's Kubernetes minor leaves standard support soon, or has left it.

The stack config already refuses a minor outside standard support on the day of the run; this
check looks ahead, so an upgrade is planned before a cloud starts billing extended support (EKS,
GKE's Extended channel, AKS long-term support) or upgrades the cluster on its own. It reads each
cluster's version from the plan (what the program will really ask the cloud for) and judges it
against components/data/kubernetes_support.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import NamedTuple

from components.kubernetes_support import Cloud, SupportTable, Window, load_support_table, minor_of
from preflight.plan import Plan, PlannedResource, PlanWarning

CHECK = "kubernetes-support"
WARN_DAYS = 90  # a minor upgrade per cloud, tested in dev first, fits in a quarter
# The cluster resource of each cloud and the input that carries its Kubernetes version.
CLUSTER_VERSIONS: dict[str, tuple[Cloud, str]] = {
    "eks:index:Cluster": ("aws", "version"),
    "gcp:container/cluster:Cluster": ("gcp", "minMasterVersion"),
    "azure-native:containerservice:ManagedCluster": ("azure", "kubernetesVersion"),
}


class ClusterVersion(NamedTuple):
    """A planned cluster, the Kubernetes version it asks for and that minor's window (None: not in the table)."""

    resource: PlannedResource
    cloud: Cloud
    version: str
    minor: str | None
    window: Window | None


def cluster_versions(plan: Plan, table: SupportTable) -> Iterator[ClusterVersion]:
    for resource in plan.resources:
        if resource.type not in CLUSTER_VERSIONS:
            continue
        cloud, field = CLUSTER_VERSIONS[resource.type]
        version = str(resource.inputs.get(field) or "")
        minor = minor_of(version)
        yield ClusterVersion(resource, cloud, version, minor, table.window(cloud, minor) if minor else None)


def kubernetes_support_warnings(plan: Plan, today: date) -> Sequence[PlanWarning]:
    table = load_support_table()
    warnings = []
    for resource, cloud, version, minor, window in cluster_versions(plan, table):
        service = table.clouds[cloud].service
        where = f"{service} cluster {resource.name}"
        if window is None:
            message = f"{where}: Kubernetes {version or '(no version)'} is not in the support table: its end is unknown"
        elif window.days_left(today) <= 0:
            message = (
                f"{where}: Kubernetes {minor} left standard support on {cloud} on {window.standard_end.isoformat()}; "
                "upgrade it (docs/OPERATIONS.md, Kubernetes minor upgrades)"
            )
        elif window.days_left(today) <= WARN_DAYS:
            message = (
                f"{where}: Kubernetes {minor} leaves standard support on {cloud} on {window.standard_end.isoformat()}, "
                f"in {window.days_left(today)} days; plan the upgrade (docs/OPERATIONS.md, Kubernetes minor upgrades)"
            )
        else:
            continue
        warnings.append(PlanWarning(CHECK, message, resource.urn))
    return warnings
