"""Traffic to the model servers: Istio routes with canary weights, mutual TLS, and who may connect.

Facts (Istio reference docs for networking.istio.io/v1 and security.istio.io/v1, read 2026-11,
and the CRD schemas of @kubernetes-models/istio 3.0.1, generated from Istio 1.29.2's CRDs):
- a Gateway selects the ingress gateway's pods by label, from any namespace; a VirtualService
  names it as ``<namespace>/<name>``; VirtualServices bound to one gateway with the same host are
  merged, so one per model can share ``hosts: ["*"]``;
- a route's destination weights add up to 100; a subset is a DestinationRule's named label set;
- ``retries``: attempts, perTryTimeout, retryOn (Envoy's x-envoy-retry-on values);
- ``outlierDetection`` ejects an endpoint after consecutive 5xx; ``connectionPool`` caps what one
  client Envoy sends to the service (the circuit breaker);
- PeerAuthentication ``portLevelMtls`` applies only together with a workload ``selector``; its
  key is the container (target) port.

Why Triton's metrics port is PERMISSIVE rather than relying on Istio's metrics merging: merging
republishes the app's metrics on the sidecar's port 15020 for annotation-based scrapers, but the
PodMonitor (scaling.py) scrapes Triton's own port 8002 by name, from a Prometheus without a
sidecar, which STRICT would refuse. So 8002 alone accepts plain text, and the NetworkPolicy lets
only the monitoring namespace reach it; inference ports stay STRICT.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import (
    HEALTH_PATH,
    NAMESPACE,
    VERSION_HEADER,
    Addons,
    HttpsServer,
    ModelSpec,
)
from components.serving_stack.triton import ADMIN_HEADER, GRPC_PORT, HTTP_PORT, LABEL_APP, LABEL_VERSION, METRICS_PORT

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
GATEWAY = "models"  # one Gateway in the serving namespace serves every model
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace

RETRIES = {"attempts": 2, "perTryTimeout": "30s", "retryOn": "5xx,reset,connect-failure"}
# Per-route ceilings, retries included, so a slow request cannot hold a replica (and its GPU) for long.
INFERENCE_TIMEOUT = "60s"  # both attempts of RETRIES
METADATA_TIMEOUT = "10s"
# Past these, Envoy answers 503 at once instead of piling requests onto Triton's own queue.
CONNECTION_POOL = {
    "tcp": {"maxConnections": 256, "connectTimeout": "5s"},
    "http": {"http1MaxPendingRequests": 128, "http2MaxRequests": 256, "maxRetries": 8},
}
# Eject a replica that keeps failing; never more than half, so a bad rollout cannot empty a subset.
OUTLIER_DETECTION = {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 50}


def host(model: ModelSpec) -> str:
    return f"{model.name}.{NAMESPACE}.svc.cluster.local"


def _custom(
    resource_name: str, api_version: str, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=api_version,
        kind=kind,
        metadata={"name": name, "namespace": NAMESPACE},
        spec=spec,
        opts=opts,
    )


# --- TLS (tls.py): the HTTPS server. Without it the Gateway stays plain HTTP on port 80. ---


def _http_server() -> dict[str, Any]:
    return {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}


def gateway(
    resource_name: str, addons: Addons, opts: pulumi.ResourceOptions, https: HttpsServer | None = None
) -> k8s.apiextensions.CustomResource:
    """Plain HTTP on port 80 without TLS; with TLS, HTTPS on 443 and port 80 only redirecting to it."""
    spec = {"selector": dict(addons.gateway_selector), "servers": gateway_servers(https)}
    return _custom(resource_name, NETWORKING, "Gateway", GATEWAY, spec, opts)


def gateway_servers(https: HttpsServer | None) -> list[dict[str, Any]]:
    """The Gateway's servers.

    HTTPS terminates TLS (SIMPLE) with the certificate cert-manager keeps in `credential_name`, TLS 1.2
    at least (Route 53's HTTPS checkers speak up to 1.2). Its hosts are the certificate's names plus
    "*": Istio drops the SNI match from a filter chain whose hosts include "*" (pilot/pkg/networking/core/
    listener.go, toFilterChainMatch), so a client_hello naming anything, or nothing, still completes a
    handshake with this certificate. That is what Route 53's checkers send for an EKS gateway (the NLB's
    own name as SNI, then no SNI on the retry), and what a client reaching a gateway by its own address
    sends; GKE and AKS gateways are probed with the global host as SNI.

    Port 80 stays, only answering 301 to https: the gateway chart's Service keeps port 80 open on every
    cloud's load balancer (and EKS's NLB health-checks it with TCP), and a client that typed http:// gets
    a pointer instead of a reset. No route serves plain HTTP.
    """
    if https is None:
        return [_http_server()]
    return [
        {
            "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
            "hosts": [*https.hosts, "*"],
            "tls": {"mode": "SIMPLE", "credentialName": https.credential_name, "minProtocolVersion": "TLSV1_2"},
        },
        {**_http_server(), "tls": {"httpsRedirect": True}},
    ]


# --- end TLS ---


def weighted_destinations(model: ModelSpec) -> list[dict[str, Any]]:
    """Stable and canary subsets with their configured weights: promotion and rollback are a config change."""
    return [
        {"destination": {"host": host(model), "subset": v.name, "port": {"number": HTTP_PORT}}, "weight": v.weight}
        for v in model.versions
    ]


def model_matches(model: ModelSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """What callers may ask of a model (KServe V2 paths; Istio's regex is RE2 and matches the whole path):
    POST .../infer, and GET of its metadata and readiness, with or without /versions/<v>. Triton's control
    paths under the same prefix (/config, /stats, /trace/setting, repository load and unload) match neither and
    get the gateway's 404."""
    base = f"/v2/models/{model.name}(/versions/[^/]+)?"
    infer = {"uri": {"regex": f"{base}/infer"}, "method": {"exact": "POST"}}
    metadata = {"uri": {"regex": f"{base}(/ready)?"}, "method": {"exact": "GET"}}
    return infer, metadata


def _served_routes(name: str, matches: list[dict[str, Any]], route: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The inference and metadata routes of `matches` (model_matches' order) to `route`'s destinations."""
    infer, metadata = matches
    return [
        {
            "name": f"inference{name}",
            "match": [infer],
            "route": route,
            "timeout": INFERENCE_TIMEOUT,
            "retries": dict(RETRIES),
        },
        {"name": f"metadata{name}", "match": [metadata], "route": route, "timeout": METADATA_TIMEOUT},
    ]


def version_routes(model: ModelSpec) -> list[dict[str, Any]]:
    """ab and blueGreen: a caller sending VERSION_HEADER with a served version's name reaches that version alone,
    whatever the weights (blueGreen's smoke traffic reaches the idle green version this way). Only versions the stack
    serves have a route; any other value gets 404 here, never the weighted route, so a caller never gets a version
    it did not ask for. The routes sit in the same VirtualService behind the same Gateway: the gateway's
    authentication, authorisation and rate limit (filters before the router, matched on the path) apply alike."""
    if model.routing == "canary":
        return []
    routes: list[dict[str, Any]] = []
    for version in model.versions:
        asked = {"headers": {VERSION_HEADER: {"exact": version.name}}}
        matches = [{**match, **asked} for match in model_matches(model)]
        only = [{"destination": {"host": host(model), "subset": version.name, "port": {"number": HTTP_PORT}}}]
        routes.extend(_served_routes(f"-{version.name}", matches, only))
    served = ", ".join(v.name for v in model.versions)
    unknown = {
        "name": "unknown-version",
        "match": [{**match, "headers": {VERSION_HEADER: {"regex": ".*"}}} for match in model_matches(model)],
        "directResponse": {"status": 404, "body": {"string": f"{model.name} serves {served} ({VERSION_HEADER})\n"}},
    }
    return [*routes, unknown]


def http_routes(model: ModelSpec, *, health: bool) -> list[dict[str, Any]]:
    """Inference, metadata and readiness of the model only (not a longer model name sharing its prefix, not
    Triton's control APIs); a version by header first (ab, blueGreen); the health path if asked."""
    weighted = _served_routes("", list(model_matches(model)), weighted_destinations(model))
    routes: list[dict[str, Any]] = [*version_routes(model), *weighted]
    if health:  # GlobalDns probes the gateway here; any ready replica of this model answers
        destination = {"host": host(model), "port": {"number": HTTP_PORT}}
        health_route: dict[str, Any] = {
            "name": "health",
            "match": [{"uri": {"exact": HEALTH_PATH}}],
            "route": [{"destination": destination}],
            "timeout": METADATA_TIMEOUT,
        }
        routes.insert(0, health_route)
    for route in routes:  # Triton's admin key never comes from outside, whatever a caller sends
        route["headers"] = {"request": {"remove": [ADMIN_HEADER]}}
    return routes


def virtual_service(
    resource_name: str, model: ModelSpec, *, health: bool, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    spec = {"hosts": ["*"], "gateways": [f"{NAMESPACE}/{GATEWAY}"], "http": http_routes(model, health=health)}
    return _custom(resource_name, NETWORKING, "VirtualService", model.name, spec, opts)


def destination_rule(
    resource_name: str, model: ModelSpec, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    spec = {
        "host": host(model),
        "trafficPolicy": {"connectionPool": CONNECTION_POOL, "outlierDetection": OUTLIER_DETECTION},
        "subsets": [{"name": v.name, "labels": {LABEL_VERSION: v.name}} for v in model.versions],
    }
    return _custom(resource_name, NETWORKING, "DestinationRule", model.name, spec, opts)


def namespace_mtls(resource_name: str, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """STRICT for every workload in the namespace: only mesh peers with a certificate get in."""
    return _custom(resource_name, SECURITY, "PeerAuthentication", "default", {"mtls": {"mode": "STRICT"}}, opts)


def metrics_port_mtls(
    resource_name: str, model: ModelSpec, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """The model's pods stay STRICT except Triton's metrics port, which Prometheus scrapes in plain text."""
    spec = {
        "selector": {"matchLabels": {LABEL_APP: model.name}},
        "mtls": {"mode": "STRICT"},
        "portLevelMtls": {str(METRICS_PORT): {"mode": "PERMISSIVE"}},
    }
    return _custom(resource_name, SECURITY, "PeerAuthentication", f"{model.name}-metrics", spec, opts)


def _from_namespace(namespace: str, *ports: int) -> k8s.networking.v1.NetworkPolicyIngressRuleArgsDict:
    return {
        "from_": [{"namespace_selector": {"match_labels": {NAMESPACE_LABEL: namespace}}}],
        "ports": [{"protocol": "TCP", "port": port} for port in ports],
    }


def network_policy(
    resource_name: str, model: ModelSpec, addons: Addons, opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """Only the gateway reaches inference (HTTP, gRPC) and only the monitoring namespace the metrics.

    Enforced on every cluster (GpuCluster: VPC CNI network policy, Dataplane V2, Cilium).
    """
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata={"name": model.name, "namespace": NAMESPACE},
        spec={
            "pod_selector": {"match_labels": {LABEL_APP: model.name}},
            "policy_types": ["Ingress"],
            "ingress": [
                _from_namespace(addons.gateway_namespace, HTTP_PORT, GRPC_PORT),
                _from_namespace(addons.monitoring_namespace, METRICS_PORT),
            ],
        },
        opts=opts,
    )
