"""kube-prometheus-stack values this footprint's observability needs, merged over the serving stack's own.

Checked against the chart's values.yaml and templates at 88.5.3 (prometheus-community/helm-charts, tag
kube-prometheus-stack-88.5.3) and its grafana subchart 12.11.1 (Grafana 13.2.0):
- prometheus.prometheusSpec.externalLabels, remoteWrite (passed through to the Prometheus object), ruleSelector
  (rendered as given when set, templates/prometheus/prometheus.yaml);
- kube-state-metrics.metricLabelsAllowlist (chart 8.4.0: joined into --metric-labels-allowlist);
- alertmanager.config (rendered with toYaml as the operator's config Secret) and alertmanager.alertmanagerSpec.secrets
  (passed through to the Alertmanager object), alerting.py;
- grafana.enabled, adminPassword, nodeSelector, tolerations, additionalDataSources, and the sidecars
  (sidecar.dashboards label grafana_dashboard=1 is the chart's default, restated because the dashboard ConfigMap
  relies on it).

Grafana's RBAC, from the grafana chart 12.11.1's templates (grafana-community/helm-charts, charts/grafana):
clusterrole.yaml makes a ClusterRole that may get, list and watch every ConfigMap *and Secret* of the cluster
whenever a sidecar is on and `rbac.namespaced` is false (the default), and kube-prometheus-stack turns the dashboard
sidecar on with searchNamespace ALL; role.yaml makes the same rule as a Role when namespaced. So Grafana here has
`rbac.namespaced: true` and `rbac.useExistingRole`: the chart makes no ClusterRole and no Role, binds its service
account (rolebinding.yaml, `roleRef.name: useExistingRole`) to GRAFANA_ROLE, which central.py makes with ConfigMaps
only; both sidecars watch ConfigMaps only (`resource: configmap`) in Grafana's own namespace (`searchNamespace`
unset), where the dashboard and kube-prometheus-stack's data source ConfigMaps are.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.observability.alerting import alertmanager_values
from components.observability.contract import (
    CENTRAL,
    DATASOURCE_UID,
    EVALUATED_BY,
    REMOTE_WRITE_KEEP,
    REMOTE_WRITE_SCHEME,
    TOKEN_KEY,
    TOKEN_SECRET,
    MonitoringArgs,
    RemoteWrite,
)
from components.observability.prometheus import central_url
from components.scheduling import LABEL_ACCELERATOR, LABEL_CAPACITY, LABEL_POOL, LABEL_ROLE
from components.serving_stack.addons import system_placement
from components.serving_stack.triton import LABEL_APP, LABEL_TEAM, LABEL_VERSION

# The well-known label every cloud's kubelet sets from the machine (kubernetes.io, "Well-Known Labels").
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
# kube-state-metrics turns these into label_<sanitized> on kube_node_labels and kube_deployment_labels.
KSM_ALLOWLIST = [
    f"nodes=[{LABEL_ROLE},{LABEL_POOL},{LABEL_CAPACITY},{LABEL_ACCELERATOR},{INSTANCE_TYPE_LABEL}]",
    f"deployments=[{LABEL_APP}]",
    f"pods=[{LABEL_APP},{LABEL_VERSION},{LABEL_TEAM}]",  # cost per model, version and team (rules/cost.yaml)
]
DASHBOARD_LABEL = ("grafana_dashboard", "1")  # the sidecar's label and value (chart defaults)
GRAFANA_ROLE = "mlplatform-grafana-sidecar"  # ConfigMaps only, in the monitoring namespace (central.py)


def prometheus_values(args: MonitoringArgs, grafana_password: pulumi.Output[str] | None) -> dict[str, Any]:
    """The overlay for this footprint; `grafana_password` only on the central footprint (Grafana runs there)."""
    spec: dict[str, Any] = {
        "externalLabels": args.external_labels,
        # Fleet rules are for the central Prometheus alone; a label selector with NotIn also matches rules
        # without the label, so every other PrometheusRule (ours and the chart's) stays selected.
        "ruleSelector": {"matchExpressions": [{"key": EVALUATED_BY, "operator": "NotIn", "values": [CENTRAL]}]},
    }
    if args.remote_write is not None:
        spec["remoteWrite"] = [remote_write_spec(args.remote_write)]
    values: dict[str, Any] = {
        "prometheus": {"prometheusSpec": spec},
        "kube-state-metrics": {"metricLabelsAllowlist": list(KSM_ALLOWLIST)},
        "alertmanager": alertmanager_values(args.alerting),
    }
    if args.central is not None:
        if grafana_password is None:
            raise ValueError("the central footprint runs Grafana: it needs the admin password")
        values["grafana"] = grafana_values(grafana_password)
    return values


def remote_write_spec(remote_write: RemoteWrite) -> dict[str, Any]:
    """A RemoteWriteSpec: only the kept series, with the bearer token from a Secret when it crosses clouds."""
    spec: dict[str, Any] = {
        "name": CENTRAL,
        "url": remote_write.url,
        "writeRelabelConfigs": [{"sourceLabels": ["__name__"], "regex": REMOTE_WRITE_KEEP, "action": "keep"}],
    }
    if remote_write.token is not None:
        spec["authorization"] = {"type": REMOTE_WRITE_SCHEME, "credentials": {"name": TOKEN_SECRET, "key": TOKEN_KEY}}
    return spec


def grafana_values(admin_password: pulumi.Output[str]) -> dict[str, Any]:
    """Grafana on the system nodes, with the central Prometheus as a data source and the dashboard sidecar on.

    Reached with `kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80`: no Service
    outside the cluster, no login page on the internet.
    """
    placement = system_placement()
    label, value = DASHBOARD_LABEL
    return {
        "enabled": True,
        "adminPassword": admin_password,
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
        # No Secret anywhere: the chart binds Grafana to GRAFANA_ROLE in its own namespace (module docstring).
        "rbac": {"create": True, "namespaced": True, "useExistingRole": GRAFANA_ROLE, "extraClusterRoleRules": []},
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": label,
                "labelValue": value,
                "searchNamespace": None,  # Grafana's own namespace only
                "resource": "configmap",
            },
            "datasources": {"resource": "configmap"},
        },
        "additionalDataSources": [
            {
                "name": "mlplatform central",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": central_url(),
                "isDefault": False,
                "editable": False,
            }
        ],
    }
