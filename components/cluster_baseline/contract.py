"""The ClusterBaseline contract: what fences one cluster's workloads, the same on every cloud.

The baseline is in-cluster and cloud-neutral (pulumi-kubernetes only); what differs per cloud is data in its Args
(the metadata server GKE's pods may reach). Its data types and constants live here, and only here, so the
component's modules never import each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import Level
from components.target import Cloud

KYVERNO_NAMESPACE = "kyverno"


@dataclass(frozen=True)
class ClusterBaselineArgs:
    cloud: Cloud
    k8s_provider: k8s.Provider
    namespaces: Mapping[str, Level]
    """Every namespace the program made in this cluster and the Pod Security level it enforces (Kyverno checks the
    same level); the baseline fences the ones it knows (network_policies.FENCES) and refuses others it cannot."""
    gateway_namespace: str
    monitoring_namespace: str
    image_prefixes: Sequence[pulumi.Input[str]]
    """Where pods may pull from by tag: the platform's registries (each footprint's image prefix) and the upstream
    registries the program's charts and workloads use. An image pinned by digest is admitted from anywhere."""
    enforce: bool = True
    """Kyverno refuses (Enforce) or only reports (Audit) what its policies do not admit: Enforce in prod."""
    kyverno_replicas: int = 3
    """Kyverno's admission controller: 3 for high availability (Kyverno's docs), 1 where an outage may block deploys."""
    self_fenced: Mapping[str, Level] = field(default_factory=dict)
    """Namespaces made and fenced by another component (components/training: Kueue's and the teams'), with their Pod
    Security level: Kyverno's policies cover them too; their NetworkPolicies stay their maker's."""
    after: Sequence[pulumi.Resource] = field(default_factory=list)
    """What made the namespaces (the ServingStack): the policies wait for it."""
