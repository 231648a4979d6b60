"""Warm spare GPU nodes: placeholder pods that keep spot nodes Ready, their GPU offered and the Triton image pulled.

Why: a replica that needs a new node waits for the autoscaler, the VM, the driver and a ~14 GiB image pull (about
430 s, components/data/cold_start.yaml). Kubernetes' node overprovisioning pattern (kubernetes.io, "Overprovision
Node Capacity For A Cluster", read 2026-12) keeps capacity ahead of demand with pods of a negative-priority
PriorityClass: a model pod (priority 0) preempts one at once and starts on its node, and the autoscaler adds a node
for the evicted placeholder. Here each placeholder takes every GPU of one node of its pool and runs the Triton image
itself (a `sleep`), so the node it holds has pulled the image too: only the model's copy and load remain.

The priority is -1, above cluster-autoscaler's expendable cutoff (-10 by default): pods below it never make the
autoscaler add a node, and a preempted placeholder must. Placeholders never preempt anything themselves
(preemptionPolicy Never) and stop at once (no grace period). They live in the serving namespace, under its restricted
Pod Security, Kyverno's image rules and default-deny NetworkPolicy, without an Istio sidecar (a placeholder serves
nothing and talks to nobody).
One PriorityClass per cluster and one Deployment per pool with spares: nothing is made when no pool has spares.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.scheduling import LABEL_CAPACITY, LABEL_POOL
from components.serving_stack.contract import NAMESPACE, ServingStackArgs, WarmSpare
from components.serving_stack.triton import TRITON_UID, container_security, image, node_selector, tolerations

PRIORITY_CLASS = "mlplatform-warm-spare"
PRIORITY = -1  # below every model pod (0), above cluster-autoscaler's --expendable-pods-priority-cutoff (-10)
LABEL_APP = "mlplatform-warm-spare"
REQUESTS = {"cpu": "10m", "memory": "16Mi"}  # a sleep: the GPUs are what it holds


def install(
    parent: pulumi.Resource, name: str, args: ServingStackArgs, namespace: pulumi.Resource
) -> list[k8s.apps.v1.Deployment]:
    """The PriorityClass and a placeholder Deployment per pool in args.warm_spares, in the serving namespace."""
    if not args.warm_spares:
        return []
    opts = pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider)
    priority = k8s.scheduling.v1.PriorityClass(
        f"{name}-warm-spare-priority",
        metadata={"name": PRIORITY_CLASS},
        value=PRIORITY,
        preemption_policy="Never",
        global_default=False,
        description="mlplatform warm spare placeholders: any model pod preempts them (components/serving_stack)",
        opts=opts,
    )
    after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[priority, namespace]))
    return [_placeholders(name, args, spare, after) for spare in args.warm_spares]


def _placeholders(
    name: str, args: ServingStackArgs, spare: WarmSpare, opts: pulumi.ResourceOptions
) -> k8s.apps.v1.Deployment:
    labels = {"app.kubernetes.io/name": LABEL_APP, LABEL_POOL: spare.pool}
    gpus = {"nvidia.com/gpu": str(spare.gpus_per_node)}
    selector = {**node_selector(args.target.cloud, spare.accelerator), LABEL_POOL: spare.pool, LABEL_CAPACITY: "spot"}
    return k8s.apps.v1.Deployment(
        f"{name}-warm-spare-{spare.pool}",
        metadata={
            "name": f"{LABEL_APP}-{spare.pool}",
            "namespace": NAMESPACE,
            "labels": labels,
            # Not awaited: a spare node coming up is no reason to hold the deployment, nor to fail it.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        spec={
            "replicas": spare.count,
            "selector": {"match_labels": labels},
            "template": {
                "metadata": {"labels": {**labels, "sidecar.istio.io/inject": "false"}},
                "spec": {
                    "priority_class_name": PRIORITY_CLASS,
                    "termination_grace_period_seconds": 0,
                    "automount_service_account_token": False,
                    "security_context": {
                        "run_as_non_root": True,
                        "run_as_user": TRITON_UID,
                        "seccomp_profile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "placeholder",
                            "image": image(args),  # the model pods' image: pulled onto the spare before it is needed
                            "command": ["sleep", "infinity"],
                            "resources": {"requests": {**REQUESTS, **gpus}, "limits": {**REQUESTS, **gpus}},
                            "security_context": container_security(),
                        }
                    ],
                    "node_selector": selector,
                    "tolerations": tolerations(args.target.cloud, spare.accelerator, spot=True),
                },
            },
        },
        opts=opts,
    )
