"""The central Prometheus: a second Prometheus object in the central cluster that only receives remote writes.

Why a second one rather than turning on the receiver in the chart's Prometheus: external labels are added only to
what a Prometheus sends (remote write, federation, alerts), never to its own stored series. Every cluster, the
central one included, writes here with its target, cloud and region, so every series the dashboard and the fleet
rules read has them; the chart's Prometheus stays what KEDA queries, unchanged.

Facts (prometheus-operator v0.93, the operator of kube-prometheus-stack 88.5.3; its API reference):
- Prometheus.spec.enableRemoteWriteReceiver turns on --web.enable-remote-write-receiver (POST /api/v1/write);
- nil serviceMonitorSelector/podMonitorSelector/probeSelector/scrapeConfigSelector select nothing: no scraping;
- ruleSelector picks PrometheusRules (in its own namespace, ruleNamespaceSelector being nil);
- the operator labels the pods `operator.prometheus.io/name: <name>` and names the web port `web` (9090);
  it makes no per-object Service, so this module makes one;
- without spec.storage the data lives in an emptyDir: it survives container restarts, not a pod's rescheduling;
- spec.serviceAccountName is the identity its pods run as; unset, the namespace's `default`, which may list nothing,
  so Prometheus could not discover the Alertmanager's endpoints and would drop every alert. The chart's own
  Prometheus account (kube-prometheus-stack 88.5.3, templates/prometheus/serviceaccount.yaml and
  clusterrolebinding.yaml: "<fullname>-prometheus", bound to a ClusterRole that may get/list/watch services,
  endpoints, endpointslices and pods) is in the same namespace and may do exactly that.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.images import image as platform_image
from components.observability.contract import (
    CENTRAL,
    CENTRAL_PORT,
    CENTRAL_PROMETHEUS,
    EVALUATED_BY,
    MONITORING_API,
    REMOTE_WRITE_PATH,
)
from components.serving_stack.addons import MONITORING_NAMESPACE, PROMETHEUS_FULLNAME, system_placement
from components.target import Cloud

POD_NAME_LABEL = "operator.prometheus.io/name"
PROMETHEUS_IMAGE = platform_image("prometheus")  # the chart's own Prometheus (kube-prometheus-stack values)
ALERTMANAGER = f"{PROMETHEUS_FULLNAME}-alertmanager"  # the chart's Alertmanager Service, port http-web
ALERTMANAGER_PORT = "http-web"
# The chart's Prometheus service account: "<fullname>-prometheus" (_helpers.tpl, prometheus.serviceAccountName, with
# prometheus.serviceAccount.create true and no name, the chart's defaults); fullname is pinned in addons.py.
SERVICE_ACCOUNT = f"{PROMETHEUS_FULLNAME}-prometheus"
STORAGE_GIB = 50
# EKS clusters here have no EBS CSI driver (GpuCluster installs none), so a PersistentVolumeClaim would stay
# Pending there; GKE (pd-balanced "standard-rwo") and AKS ("managed-csi") have a default StorageClass.
PERSISTENT_STORAGE: dict[Cloud, bool] = {"aws": False, "gcp": True, "azure": True}
# kube-prometheus-stack's own Prometheus security context (values prometheusSpec.securityContext), so the volume
# is writable by the non-root Prometheus user.
SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000}
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


def central_url() -> str:
    """The central Prometheus inside its cluster (what Grafana and the central cluster's own remote write use)."""
    return f"http://{CENTRAL_PROMETHEUS}.{MONITORING_NAMESPACE}.svc:{CENTRAL_PORT}"


def central_write_url() -> str:
    return f"{central_url()}{REMOTE_WRITE_PATH}"


def prometheus_spec(cloud: Cloud, retention_days: int) -> dict[str, Any]:
    """A receiver: no scrapes, the fleet rules, alerts to the chart's Alertmanager, on the system nodes."""
    placement = system_placement()
    spec: dict[str, Any] = {
        "replicas": 1,
        # The image the platform's table pins (the chart's Prometheus), not the operator's built-in default; the
        # version tells the operator which flags that image takes.
        "image": PROMETHEUS_IMAGE.ref,
        "version": PROMETHEUS_IMAGE.tag.removesuffix("-distroless"),
        "serviceAccountName": SERVICE_ACCOUNT,
        "enableRemoteWriteReceiver": True,
        "retention": f"{retention_days}d",
        "ruleSelector": {"matchLabels": {EVALUATED_BY: CENTRAL}},
        "alerting": {
            "alertmanagers": [
                {"namespace": MONITORING_NAMESPACE, "name": ALERTMANAGER, "port": ALERTMANAGER_PORT, "apiVersion": "v2"}
            ]
        },
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
        "securityContext": dict(SECURITY_CONTEXT),
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "4Gi"}},
    }
    if PERSISTENT_STORAGE[cloud]:
        spec["storage"] = {
            "volumeClaimTemplate": {
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{STORAGE_GIB}Gi"}}},
            }
        }
    return spec


def central_prometheus(
    parent: pulumi.Resource, name: str, cloud: Cloud, retention_days: int, opts: pulumi.ResourceOptions
) -> tuple[k8s.apiextensions.CustomResource, k8s.core.v1.Service]:
    """The Prometheus object and the ClusterIP Service in front of it."""
    prometheus = k8s.apiextensions.CustomResource(
        f"{name}-central-prometheus",
        api_version=MONITORING_API,
        kind="Prometheus",
        metadata={"name": CENTRAL_PROMETHEUS, "namespace": MONITORING_NAMESPACE, "labels": dict(LABELS)},
        spec=prometheus_spec(cloud, retention_days),
        opts=opts,
    )
    service = k8s.core.v1.Service(
        f"{name}-central-prometheus",
        metadata={"name": CENTRAL_PROMETHEUS, "namespace": MONITORING_NAMESPACE, "labels": dict(LABELS)},
        spec={
            "type": "ClusterIP",
            "selector": {POD_NAME_LABEL: CENTRAL_PROMETHEUS},
            "ports": [{"name": "web", "port": CENTRAL_PORT, "target_port": "web", "protocol": "TCP"}],
        },
        opts=opts,
    )
    return prometheus, service
