"""The ingress gateway's request metrics, scraped by the footprint's own Prometheus.

kube-prometheus-stack scrapes nothing of Istio by itself. The gateway's Envoy serves Istio's standard metrics
(istio_requests_total, istio_request_duration_milliseconds) with its own on the container port named
`http-envoy-prom` (15090) at /stats/prometheus, in plain text: the gateway chart's pods get it from istiod's
gateway injection template, as sidecars do (istio.io, "Prometheus" integration: the envoy-stats PodMonitor).
The gateway is the client of every model Service, so its series carry reporter="source".
Only istio_* is kept: Envoy's own statistics are thousands of series the rules never read.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.observability.contract import MONITORING_API
from components.serving_stack.addons import gateway_namespace
from components.serving_stack.contract import Addons

ENVOY_PORT = "http-envoy-prom"
ENVOY_PATH = "/stats/prometheus"
SCRAPE_INTERVAL = "30s"
NAME = "istio-ingressgateway"
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


def gateway_pod_monitor(
    resource_name: str, addons: Addons, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """In the gateway's namespace (read through its address, so this waits for the release that makes it)."""
    endpoint = {
        "port": ENVOY_PORT,
        "path": ENVOY_PATH,
        "interval": SCRAPE_INTERVAL,
        "metricRelabelings": [{"sourceLabels": ["__name__"], "regex": "istio_.+", "action": "keep"}],
    }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=MONITORING_API,
        kind="PodMonitor",
        metadata={
            "name": NAME,
            "namespace": gateway_namespace(addons),
            "labels": {**LABELS, **addons.pod_monitor_labels},
        },
        spec={"selector": {"matchLabels": dict(addons.gateway_selector)}, "podMetricsEndpoints": [endpoint]},
        opts=opts,
    )
