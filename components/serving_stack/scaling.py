"""Scale and disruption: KEDA autoscaling on Triton's queue, a PodDisruptionBudget, and the scrape of Triton's metrics.

Facts (read 2026-11):
- Triton's ``nv_inference_pending_request_count`` gauge is the number of requests waiting for a
  backend, per model (server docs/user_guide/metrics.md, "Pending Request Count (Queue Size)"),
  served on the metrics port at /metrics. Queue size per replica is what inference users scale on:
  it grows before latency does, while GPU and CPU may look busy either way.
- KEDA (keda.sh/docs scalers "prometheus" and "cpu"): a ScaledObject makes and owns the version's
  HPA (so no HPA of our own, ever); the prometheus trigger takes serverAddress, query and threshold
  and, with its default AverageValue metric type, the HPA aims at threshold per replica; the cpu
  trigger takes metricType Utilization, value and containerName, and needs CPU requests and the
  metrics server. KEDA's admission webhook (apis/keda/v1alpha1/scaledobject_webhook.go) reads the
  target Deployment for a cpu trigger, so it must exist first, and refuses an HPA name
  (``keda-hpa-<name>`` by default) longer than 63 characters.
- Prometheus' Kubernetes discovery exposes pod labels as ``__meta_kubernetes_pod_label_<name>``
  with every character outside [a-zA-Z0-9_] turned into ``_`` (prometheus.io configuration docs).
- policy/v1 PodDisruptionBudget ``unhealthyPodEvictionPolicy: AlwaysAllow`` (GA in Kubernetes
  1.31): a replica that never became ready does not block a node drain.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import NAMESPACE, Addons, ModelSpec
from components.serving_stack.triton import CONTAINER, LABEL_APP, LABEL_DEPLOYMENT, METRICS_PORT, PORT_NAMES, Workload

KEDA = "keda.sh/v1alpha1"
MONITORING = "monitoring.coreos.com/v1"
METRIC_DEPLOYMENT = "deployment"  # the label the PodMonitor puts on Triton's series: the pod's Deployment
PENDING_REQUESTS_PER_REPLICA = 5  # target queue per replica; Triton's dynamic batcher keeps a few waiting
CPU_UTILIZATION_PERCENT = 80  # the fallback signal: pre/post-processing bound models, or no metrics at all
POLLING_SECONDS = 15
# A GPU node takes minutes to come back: give the load a while to stay low before giving one up.
SCALE_DOWN_WINDOW_SECONDS = 600
SCRAPE_INTERVAL = "15s"


def pending_requests_query(workload: Workload) -> str:
    """Requests waiting in all of the Deployment's replicas; the HPA divides by the replica count."""
    selector = f'namespace="{NAMESPACE}",{METRIC_DEPLOYMENT}="{workload.name}"'
    return f"sum(nv_inference_pending_request_count{{{selector}}})"


def triggers(workload: Workload, addons: Addons) -> list[dict[str, Any]]:
    queue = {
        "serverAddress": addons.prometheus_url,
        "query": pending_requests_query(workload),
        "threshold": str(PENDING_REQUESTS_PER_REPLICA),
    }
    cpu = {"value": str(CPU_UTILIZATION_PERCENT), "containerName": CONTAINER}  # not the Istio sidecar
    return [
        {"type": "prometheus", "name": "pending-requests", "metadata": queue},
        {"type": "cpu", "name": "cpu", "metricType": "Utilization", "metadata": cpu},
    ]


def scaled_object(
    resource_name: str, workload: Workload, addons: Addons, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """One per version Deployment (never the floor, whose size is fixed)."""
    model = workload.model
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name},
        "minReplicaCount": model.min_replicas,
        "maxReplicaCount": model.max_replicas,
        "pollingInterval": POLLING_SECONDS,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                # KEDA would name it keda-hpa-<name>, past 63 characters for the longest names config allows.
                "name": workload.name,
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS}},
            }
        },
        "triggers": triggers(workload, addons),
    }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=KEDA,
        kind="ScaledObject",
        metadata={"name": workload.name, "namespace": NAMESPACE},
        spec=spec,
        opts=opts,
    )


def disruption_budget(
    resource_name: str, model: ModelSpec, opts: pulumi.ResourceOptions
) -> k8s.policy.v1.PodDisruptionBudget:
    """Drains and upgrades take the model's replicas (versions and floor) one at a time."""
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name,
        metadata={"name": model.name, "namespace": NAMESPACE},
        spec={
            "max_unavailable": 1,
            "selector": {"match_labels": {LABEL_APP: model.name}},
            "unhealthy_pod_eviction_policy": "AlwaysAllow",
        },
        opts=opts,
    )


def pod_label_meta(label: str) -> str:
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


def pod_monitor(
    resource_name: str, model: ModelSpec, addons: Addons, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Prometheus scrapes Triton's port 8002 on every replica, labelled with the replica's Deployment."""
    endpoint = {
        "port": PORT_NAMES[METRICS_PORT],
        "path": "/metrics",
        "interval": SCRAPE_INTERVAL,
        "relabelings": [
            {"action": "replace", "sourceLabels": [pod_label_meta(LABEL_DEPLOYMENT)], "targetLabel": METRIC_DEPLOYMENT}
        ],
    }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=MONITORING,
        kind="PodMonitor",
        metadata={"name": model.name, "namespace": NAMESPACE, "labels": dict(addons.pod_monitor_labels)},
        spec={"selector": {"matchLabels": {LABEL_APP: model.name}}, "podMetricsEndpoints": [endpoint]},
        opts=opts,
    )
