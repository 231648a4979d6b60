"""OpenCost in a cluster: the official chart, reading the cluster's own Prometheus, priced from the platform's table.

One Helm release per cluster (opencost/opencost-helm-chart, chart 2.5.17, OpenCost 1.120.1; values and templates read
at the tag opencost-2.5.17, 2026-12), in the monitoring namespace: that namespace is privileged for node-exporter
(components/pod_security.py), OpenCost needs no more than restricted, and its NetworkPolicy (cluster_baseline,
network_policies.py) already admits what OpenCost does: scrapes from the namespace's Prometheus, and out to the API
server and to Prometheus. No UI, no MCP server, no admin token: the figures are read through Prometheus and Grafana.

What the values choose, and why:
- `opencost.prometheus.internal`: the chart's Prometheus (kube-prometheus-stack, the one that remote-writes), at
  <service>.<namespace>.svc.<clusterName>:<port>; clusterName stays the chart's `cluster.local`, the DNS domain.
- `opencost.metrics.serviceMonitor`: that Prometheus scrapes OpenCost's /metrics (node_*_hourly_cost,
  container_*_allocation); the ServiceMonitor carries the labels the chart's Prometheus selects on.
  Only `mlplatform:*` leaves the cluster (contract.REMOTE_WRITE_KEEP): rules/cost.yaml turns OpenCost's series into
  the per-model, per-team and per-request figures that the central Prometheus gets.
- `USE_CUSTOM_PROVIDER=true` (OpenCost pkg/env: UseCustomProviderEnvVar): the custom pricing provider on every cloud,
  so OpenCost calls no cloud pricing API (no egress, no GCP API key) and prices with the units here.
- `opencost.customPricing`: the chart writes `costModel` into a ConfigMap that OpenCost reads through the API
  (PRICING_CONFIGMAP_NAME) and applies with ProviderConfig.UpdateFromMap, which divides CPU, spotCPU, RAM, spotRAM,
  GPU and storage by 730 (they are per month) and leaves spotGPU as given (per hour): hence `cost_model`.
- No `spotLabel`: OpenCost 1.120's custom provider keeps GPU prices only under its `default,gpu` key, so a node
  matched as spot gets `default,spot,gpu`, which has none, and its GPUs would cost zero (customprovider.go,
  NodePricing). Every node is priced on demand by OpenCost; rules/cost.yaml scales each node's OpenCost figure to
  its own list price for its capacity (mlplatform:node_hourly_dollars), so spot nodes come out at spot prices.
- Usage reporting off (PRODUCT_ANALYTICS_ENABLED, ERROR_REPORTING_ENABLED, VALUES_REPORTING_ENABLED: OpenCost pkg/env).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.addons import (
    MONITORING_NAMESPACE,
    PROMETHEUS_FULLNAME,
    Chart,
    pinned_release,
    system_placement,
)

CHART = "opencost"
VERSION = "2.5.17"
REPO = "https://opencost.github.io/opencost-helm-chart"
RELEASE = "opencost"  # and fullnameOverride: the Deployment, Service and ServiceMonitor are "opencost"
PROMETHEUS_PORT = 9090  # kube-prometheus-stack's Prometheus Service port
HOURS_PER_MONTH = 730  # what OpenCost divides the per-month units by (ProviderConfig.UpdateFromMap)
# What OpenCost asks of the system node it runs on: the chart asks 10m and 55Mi; it holds its query windows in memory,
# so more memory, and the 1Gi limit the chart sets. preflight prices the request as a share of a system node.
REQUESTS = {"cpu": "25m", "memory": "128Mi"}
LIMITS = {"memory": "1Gi"}
# The image's user is numeric (ghcr.io/opencost/opencost, USER 1001), so restricted Pod Security holds.
SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
ENVIRONMENT = {
    "USE_CUSTOM_PROVIDER": "true",
    "PRODUCT_ANALYTICS_ENABLED": "false",
    "ERROR_REPORTING_ENABLED": "false",
    "VALUES_REPORTING_ENABLED": "false",
}


@dataclass(frozen=True)
class OpenCostSettings:
    """A cluster's OpenCost: its name in OpenCost's series and the units it prices with, USD per hour per vCPU,
    GiB and GPU (the stacks layer derives them from the price table: pricing/units.py)."""

    cluster_id: str  # the target's name
    cpu: float
    ram: float
    gpu: float
    spot_cpu: float
    spot_ram: float
    spot_gpu: float
    image_mirrors: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def cost_model(units: OpenCostSettings) -> dict[str, str]:
    """The chart's `opencost.customPricing.costModel`: per month where OpenCost divides by 730, per hour for spotGPU.

    Strings, as OpenCost's CustomPricing fields are; storage and network are zero here: the plan prices no disks
    or PersistentVolumes per pod, and egress is watched by its own rule (rules/cost.yaml)."""

    def monthly(hourly: float) -> str:
        return f"{hourly * HOURS_PER_MONTH:.6f}"

    return {
        "description": "mlplatform: units derived from pricing/data/prices.yaml (pricing/units.py)",
        "CPU": monthly(units.cpu),
        "spotCPU": monthly(units.spot_cpu),
        "RAM": monthly(units.ram),
        "spotRAM": monthly(units.spot_ram),
        "GPU": monthly(units.gpu),
        "spotGPU": f"{units.spot_gpu:.6f}",
        "storage": "0",
        "zoneNetworkEgress": "0",
        "regionNetworkEgress": "0",
        "internetNetworkEgress": "0",
    }


def opencost_values(settings: OpenCostSettings, monitor_labels: Mapping[str, str]) -> dict[str, Any]:
    placement = system_placement()
    return {
        "fullnameOverride": RELEASE,
        "opencost": {
            "exporter": {
                "defaultClusterId": settings.cluster_id,
                "extraEnv": dict(ENVIRONMENT),
                "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
                "securityContext": dict(SECURITY_CONTEXT),
            },
            "ui": {"enabled": False},
            "mcp": {"enabled": False},
            "customPricing": {"enabled": True, "provider": "custom", "costModel": cost_model(settings)},
            "prometheus": {
                "internal": {
                    "enabled": True,
                    "serviceName": f"{PROMETHEUS_FULLNAME}-prometheus",
                    "namespaceName": MONITORING_NAMESPACE,
                    "port": PROMETHEUS_PORT,
                },
            },
            "metrics": {"serviceMonitor": {"enabled": True, "additionalLabels": dict(monitor_labels)}},
            "nodeSelector": placement["nodeSelector"],
            "tolerations": placement["tolerations"],
        },
    }


def opencost_release(
    resource_name: str,
    settings: OpenCostSettings,
    monitor_labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """The chart in the monitoring namespace (made by the ServingStack; `opts` waits for its add-ons)."""
    chart, values = Chart(CHART, VERSION, REPO), opencost_values(settings, monitor_labels)
    return pinned_release(
        resource_name, chart, MONITORING_NAMESPACE, values, settings.image_mirrors, opts, release=RELEASE
    )
