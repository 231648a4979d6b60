"""What the central footprint adds: the receiving Prometheus, fleet rules, the dashboard, and (with GlobalDns) the
authenticated way in for other clusters and the health probes of every target.

The way in (with GlobalDns): other clusters write to https://<metrics host>/api/v1/write. The name points at this
footprint's gateway (a Route 53 record, components/observability/endpoint.py), whose certificate carries it, and:
- a VirtualService binds the host to the serving Gateway and routes only POST /api/v1/write to the central
  Prometheus (anything else on that host gets the gateway's 404);
- an AuthorizationPolicy on the gateway pods DENIES any request for the host whose Authorization header is not
  `Metrics <token>` (a scheme of its own: the callers' JWT check reads every `Bearer` value). Istio's `hosts`
  match the Host header; the `host:*` form also covers a header with a port (istio.io, "Authorization Policy"
  reference: hosts, and the request.headers[...] condition key).

Why bearer tokens checked at the gateway: Prometheus's remote write sends one from a Secret
(RemoteWriteSpec.authorization), and Istio compares headers without extra parts. One random token per sending
target (endpoint.py), each in its own cluster's Secret only; the policy admits the set. Istio's `notValues` are
plain strings (exact, prefix, suffix or presence matches only; no hash), so the tokens sit in the
AuthorizationPolicy in plain text (Pulumi secrets in state and in the plan, readable in the cluster only by those
who may read istio-ingress's policies). JWTs from each cluster's own service-account issuer (request principals)
would avoid the stored secret, but the central policy would then need every other cluster's issuer URL: an edge
between targets, which the design forbids.

The in-cluster way in: the central cluster's own Prometheus writes to the Service directly, with no token (the
receiver checks none). A NetworkPolicy on the central Prometheus's pods admits only that Prometheus, Grafana and
the gateway's pods, on 9090 (`receiver_fence`).

Grafana's Role (GRAFANA_ROLE, values.py): get, list and watch ConfigMaps in the monitoring namespace, nothing else.

Health probes: the blackbox exporter (prometheus-community chart prometheus-blackbox-exporter 11.17.2, exporter
v0.28.0; values checked against its values.yaml at that tag) GETs https://<target>.<zone>/v2/health/ready for every
target, verifying the gateway's certificate for the global host name (tls_config.server_name) and sending that
Host: the request Route 53's health checks make. One Probe object per target labels the result with the probed
target, cloud and region (labels a series already has win over the central cluster's external labels).
"""

from __future__ import annotations

from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.observability import cost_rules, dashboards, prometheus, rules
from components.observability.contract import (
    CENTRAL_PORT,
    CENTRAL_PROMETHEUS,
    HEALTH_JOB,
    MONITORING_API,
    REMOTE_WRITE_PATH,
    REMOTE_WRITE_SCHEME,
    CentralIngress,
    CentralSettings,
    FleetTarget,
)
from components.observability.values import GRAFANA_ROLE
from components.serving_stack.addons import (
    MONITORING_NAMESPACE,
    PROMETHEUS_FULLNAME,
    gateway_namespace,
    system_placement,
)
from components.serving_stack.contract import NAMESPACE as SERVING_NAMESPACE
from components.serving_stack.contract import Addons
from components.serving_stack.traffic import GATEWAY, NETWORKING, SECURITY
from components.target import Cloud

BLACKBOX = "blackbox-exporter"  # release and fullnameOverride: the Service is blackbox-exporter:9115
BLACKBOX_CHART = "prometheus-blackbox-exporter"
BLACKBOX_VERSION = "11.17.2"
BLACKBOX_REPO = "https://prometheus-community.github.io/helm-charts"
BLACKBOX_PORT = 9115
HEALTH_MODULE = "mlplatform_health"
PROBE_INTERVAL = "30s"
TIMEOUT_SECONDS = 600
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}
RECEIVER_FENCE = "mlplatform-central-prometheus"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


def install(
    parent: pulumi.Resource,
    name: str,
    cloud: Cloud,
    settings: CentralSettings,
    addons: Addons,
    opts: pulumi.ResourceOptions,
) -> None:
    """Everything the central footprint runs besides what every footprint runs. `opts` waits for the add-ons."""
    namespace = addons.monitoring_namespace
    prometheus.central_prometheus(parent, name, cloud, settings.retention_days, opts)
    rules.prometheus_rule(
        f"{name}-fleet-rules",
        "mlplatform-fleet",
        namespace,
        cost_rules.with_fleet_cost_rules(rules.central_rules_spec(settings.fleet), settings.budget_monthly_usd),
        opts,
        central=True,
    )
    dashboards.dashboard_config_map(f"{name}-dashboards", namespace, opts)
    grafana_role(f"{name}-grafana-role", namespace, opts)
    receiver_fence(f"{name}-receiver-fence", addons, opts)
    if settings.ingress is None:
        return
    remote_write_route(f"{name}-remote-write", settings.ingress, opts)
    token_check(f"{name}-remote-write-auth", settings.ingress, addons, opts)
    probed = [target for target in settings.fleet if target.health_url]
    if probed:
        exporter = blackbox_exporter(f"{name}-blackbox", settings.ingress, namespace, opts)
        after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[exporter]))
        for target in probed:
            health_probe(f"{name}-probe-{target.name}", target, namespace, after)


GRAFANA_POD_LABELS = {"app.kubernetes.io/name": "grafana"}  # the grafana chart's selector label
# The chart's Prometheus pods (the operator's name label; the Prometheus object is "<fullname>-prometheus").
CHART_PROMETHEUS_LABELS = {prometheus.POD_NAME_LABEL: f"{PROMETHEUS_FULLNAME}-prometheus"}


def grafana_role(resource_name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.rbac.v1.Role:
    """What Grafana's sidecars may read: ConfigMaps (dashboards, data sources) in its namespace; no Secret."""
    return k8s.rbac.v1.Role(
        resource_name,
        metadata={"name": GRAFANA_ROLE, "namespace": namespace, "labels": dict(LABELS)},
        rules=[{"api_groups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
        opts=opts,
    )


def receiver_fence_spec(gateway_namespace: pulumi.Input[str], gateway_selector: dict[str, str]) -> dict[str, Any]:
    """Into the central Prometheus's pods: the chart's Prometheus (this cluster's own remote write), Grafana (its
    queries) and the ingress gateway (other clusters' writes, after the token check), on the web port only. Out:
    anywhere, as every monitoring pod (DNS, the API server for discovery, Alertmanager), so the policy is whole on
    its own where the namespace's shared allow leaves these pods out."""
    return {
        "podSelector": {"matchLabels": {prometheus.POD_NAME_LABEL: CENTRAL_PROMETHEUS}},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [{}],
        "ingress": [
            {
                "from": [
                    {"podSelector": {"matchLabels": dict(CHART_PROMETHEUS_LABELS)}},
                    {"podSelector": {"matchLabels": dict(GRAFANA_POD_LABELS)}},
                    {
                        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: gateway_namespace}},
                        "podSelector": {"matchLabels": dict(gateway_selector)},
                    },
                ],
                "ports": [{"protocol": "TCP", "port": CENTRAL_PORT}],
            }
        ],
    }


def receiver_fence(resource_name: str, addons: Addons, opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata={"name": RECEIVER_FENCE, "namespace": MONITORING_NAMESPACE, "labels": dict(LABELS)},
        # camelCase keys, as the plan records them (network_fence.py does the same)
        spec=cast(
            k8s.networking.v1.NetworkPolicySpecArgsDict,
            receiver_fence_spec(gateway_namespace(addons), addons.gateway_selector),
        ),
        opts=opts,
    )


def remote_write_route(
    resource_name: str, ingress: CentralIngress, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """The metrics host on the serving Gateway: only POST /api/v1/write, to the central Prometheus."""
    destination = {
        "host": f"{CENTRAL_PROMETHEUS}.{MONITORING_NAMESPACE}.svc.cluster.local",
        "port": {"number": CENTRAL_PORT},
    }
    spec = {
        "hosts": [ingress.host],
        "gateways": [f"{SERVING_NAMESPACE}/{GATEWAY}"],
        "http": [
            {
                "name": "remote-write",
                "match": [{"uri": {"exact": REMOTE_WRITE_PATH}, "method": {"exact": "POST"}}],
                "route": [{"destination": destination}],
            }
        ],
    }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=NETWORKING,
        kind="VirtualService",
        metadata={"name": CENTRAL_PROMETHEUS, "namespace": MONITORING_NAMESPACE, "labels": dict(LABELS)},
        spec=spec,
        opts=opts,
    )


def token_check_spec(ingress: CentralIngress, gateway_selector: dict[str, str]) -> dict[str, Any]:
    """DENY, at the gateway, every request for the metrics host without one of the senders' tokens."""
    return {
        "selector": {"matchLabels": dict(gateway_selector)},
        "action": "DENY",
        "rules": [
            {
                "to": [{"operation": {"hosts": [ingress.host, f"{ingress.host}:*"]}}],
                "when": [
                    {
                        "key": "request.headers[authorization]",
                        "notValues": [
                            pulumi.Output.concat(f"{REMOTE_WRITE_SCHEME} ", token) for token in ingress.tokens
                        ],
                    }
                ],
            }
        ],
    }


def token_check(
    resource_name: str, ingress: CentralIngress, addons: Addons, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=SECURITY,
        kind="AuthorizationPolicy",
        metadata={"name": "mlplatform-remote-write", "namespace": gateway_namespace(addons), "labels": dict(LABELS)},
        spec=token_check_spec(ingress, addons.gateway_selector),
        opts=opts,
    )


def blackbox_values(ingress: CentralIngress) -> dict[str, Any]:
    """One module: HTTPS GET of the health path, 200 only, no redirects, the global host's certificate checked."""
    placement = system_placement()
    module = {
        "prober": "http",
        "timeout": "5s",  # under Prometheus's 10 s scrape timeout
        "http": {
            "method": "GET",
            "valid_status_codes": [200],
            "fail_if_not_ssl": True,
            "follow_redirects": False,
            "preferred_ip_protocol": "ip4",
            "headers": {"Host": ingress.global_host},
            "tls_config": {"server_name": ingress.global_host},
        },
    }
    return {
        "fullnameOverride": BLACKBOX,
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
        "config": {"modules": {HEALTH_MODULE: module}},
    }


def blackbox_exporter(
    resource_name: str, ingress: CentralIngress, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        resource_name,
        name=BLACKBOX,
        chart=BLACKBOX_CHART,
        version=BLACKBOX_VERSION,
        repository_opts={"repo": BLACKBOX_REPO},
        namespace=namespace,
        values=blackbox_values(ingress),
        timeout=TIMEOUT_SECONDS,
        opts=opts,
    )


def health_probe(
    resource_name: str, target: FleetTarget, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """probe_success{job="mlplatform-health", target, cloud, region}: rules/central.yaml alerts on it."""
    if target.health_url is None:
        raise ValueError(f"target {target.name} has no health URL to probe")
    spec = {
        "jobName": HEALTH_JOB,
        "interval": PROBE_INTERVAL,
        "module": HEALTH_MODULE,
        "prober": {"url": f"{BLACKBOX}.{namespace}.svc:{BLACKBOX_PORT}", "scheme": "http", "path": "/probe"},
        "targets": {
            "staticConfig": {
                "static": [target.health_url],
                "labels": {"target": target.name, "cloud": target.cloud, "region": target.region},
            }
        },
    }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=MONITORING_API,
        kind="Probe",
        metadata={"name": f"health-{target.name}", "namespace": namespace, "labels": dict(LABELS)},
        spec=spec,
        opts=opts,
    )
