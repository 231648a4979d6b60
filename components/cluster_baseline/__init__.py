"""ClusterBaseline: what fences the workloads in one cluster, the same on every cloud.

Built after the footprint's ServingStack (whose namespaces it fences), on the cluster's kubernetes provider:
- Kyverno, the admission policy engine, with the platform's image-source and Pod Security policies (kyverno.py);
- a default-deny NetworkPolicy in every namespace the program made there, beside each one's allows
  (network_policies.py; the model sync fences its own namespace with the same module, components/network_fence.py).
The namespaces' Pod Security Admission labels are set where each namespace is made (components/pod_security.py);
Istio CNI and REGISTRY_ONLY outbound traffic are the serving stack's add-on values (serving_stack/addons.py,
egress.py). Keeping pods off the instance metadata service is the GpuCluster's (node settings per cloud).

Type token `mlplatform:security:ClusterBaseline`.
"""

from __future__ import annotations

import dataclasses

import pulumi

from components import pod_security
from components.cluster_baseline import kyverno, network_policies
from components.cluster_baseline.contract import KYVERNO_NAMESPACE, ClusterBaselineArgs

__all__ = ["ClusterBaseline", "ClusterBaselineArgs"]


class ClusterBaseline(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:security:ClusterBaseline", name, None, opts)
        if KYVERNO_NAMESPACE in args.namespaces:
            raise ValueError(f"namespace {KYVERNO_NAMESPACE!r} is the baseline's own")
        inside = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=list(args.after))
        own = kyverno.install(name, args, inside)
        fenced = dataclasses.replace(args, namespaces={**args.namespaces, KYVERNO_NAMESPACE: pod_security.BASELINE})
        network_policies.install(
            name, fenced, pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[own]))
        )
        self.register_outputs({"namespaces": sorted(fenced.namespaces)})
