"""Whether a planned cluster pays for extended Kubernetes support on a given day.

A control plane whose minor is past standard support costs more only where the cluster is
enrolled in the cloud's paid support: EKS with upgradePolicy EXTENDED (its default), GKE in the
Extended release channel, AKS with the long-term support plan (Premium tier). Elsewhere the cloud
upgrades the cluster (EKS STANDARD, the other GKE channels) or leaves it unsupported (AKS), at
the standard price. The windows and the price keys come from components/data/kubernetes_support.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from components.kubernetes_support import Cloud, ExtendedSupport, Window, load_support_table, minor_of
from preflight.support_warnings import CLUSTER_VERSIONS

# Per cloud: is the cluster (its planned inputs) enrolled in paid extended support?
_ENROLLED: dict[Cloud, Callable[[Mapping[str, Any]], bool]] = {
    "aws": lambda inputs: (inputs.get("upgradePolicy") or {}).get("supportType", "EXTENDED") == "EXTENDED",
    "gcp": lambda inputs: (inputs.get("releaseChannel") or {}).get("channel") == "EXTENDED",
    "azure": lambda inputs: inputs.get("supportPlan") == "AKSLongTermSupport",
}


@dataclass(frozen=True)
class InExtendedSupport:
    window: Window
    support: ExtendedSupport

    def describe(self) -> str:
        """What the line costs and why: the support it is in since when, and what enrolled the cluster in it."""
        return (
            f"Kubernetes {self.window.minor} in {self.support.name} since {self.window.standard_end.isoformat()} "
            f"({self.support.enrolment}), priced at the extended rate"
        )


def in_extended_support(resource_type: str, inputs: Mapping[str, Any], today: date) -> InExtendedSupport | None:
    """The cluster's extended-support window when it pays for one on `today`, else None."""
    if resource_type not in CLUSTER_VERSIONS:
        return None
    cloud, field = CLUSTER_VERSIONS[resource_type]
    minor = minor_of(str(inputs.get(field) or ""))
    table = load_support_table()
    window = table.window(cloud, minor) if minor else None
    if window is None or not window.in_extended(today) or not _ENROLLED[cloud](inputs):
        return None
    return InExtendedSupport(window, table.clouds[cloud].extended)
