"""The Grafana dashboards in dashboards/, provisioned as a ConfigMap that Grafana's dashboard sidecar loads.

The sidecar (kube-prometheus-stack's grafana subchart) watches ConfigMaps labelled grafana_dashboard=1 in every
namespace and writes each data key into Grafana's provisioning folder, so the dashboard appears without the API
and comes back after any restart. The JSON is Grafana's classic dashboard model at schemaVersion 42, the final
version of that model in Grafana 13.2 (the grafana subchart's appVersion); Grafana migrates older versions on load.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.values import DASHBOARD_LABEL

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
CONFIG_MAP = "mlplatform-dashboards"
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


@cache
def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> the parsed dashboard, for every dashboards/*.json."""
    found = {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}
    if not found:
        raise ValueError(f"no dashboard in {DASHBOARDS_DIR}")
    return found


def dashboard_config_map(resource_name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.ConfigMap:
    label, value = DASHBOARD_LABEL
    return k8s.core.v1.ConfigMap(
        resource_name,
        metadata={"name": CONFIG_MAP, "namespace": namespace, "labels": {**LABELS, label: value}},
        data={name: json.dumps(dashboard, indent=1) for name, dashboard in dashboards().items()},
        opts=opts,
    )
