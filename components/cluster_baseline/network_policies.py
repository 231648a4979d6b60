"""Default-deny NetworkPolicies for every namespace the serving stack and Kyverno make, with each one's allows.

Per namespace (components/network_fence.py writes one policy that is both the default deny and the allows; DNS is
allowed everywhere). Ports are container ports, which is what a policy sees; "outside" means 0.0.0.0/0 on that port
only (the API server and the load balancers have no pod labels; see network_fence's docstring):

- serving: in, per model only the gateway on 8000/8001 and monitoring on 8002 (traffic.py); out, istiod 15012,
  HTTPS outside (bucket, identity), on GKE the metadata server, monitoring 4317/4318 (spans to the collector agent);
- istio-ingress: in, outside on 80, 443 and 15021 (the load balancer and its health checks), monitoring on 15090;
  out, istiod 15012, serving 8000/8001, monitoring 9090 (the central Prometheus behind the remote-write route),
  4317/4318 (its spans to the agent; OTLP spans to the central trace gateway) and 3100 (OTLP logs to the central Loki);
- istio-system: in, every namespace on 15012 (xDS), outside on 15017 (the injection webhook), monitoring on 15014;
  out, HTTPS outside (the API server, issuers' JWKS);
- istio-cni: in, monitoring on 15014; out, HTTPS outside (the API server);
- monitoring: in, itself, keda and istio-ingress on 9090, istio-ingress on 3100/4317/4318 and serving on 4317/4318
  (logs and traces, components/observability/otel_contract.py), outside on 10250 (the operator's webhook); out, anywhere
  (it scrapes every pod and node, writes remote, sends alerts);
- keda: in, outside on 6443 and 9443 (the metrics API and webhooks); out, HTTPS outside, monitoring 9090;
- nvidia-device-plugin: in, nothing; out, DNS only;
- cert-manager: in, outside on 10250 (the webhook); out, HTTPS and DNS outside (ACME, Route 53, STS, the API
  server, the self-check's nameservers);
- kyverno: in, outside on 9443 (the webhooks), monitoring on 8000; out, HTTPS outside (the API server).

Istio's own sidecar ports: xDS 15012 (istiod), Envoy's metrics 15090, health 15021, merged metrics 15020 (istio.io,
"Ports used by Istio", read 2026-12). Webhook ports are the charts' container ports at the pinned versions: istiod
15017, prometheus-operator 10250, KEDA's metrics server 6443 and webhooks 9443, cert-manager 10250, Kyverno 9443.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components import network_fence as fence
from components.cluster_baseline.contract import KYVERNO_NAMESPACE, ClusterBaselineArgs
from components.network_fence import DNS_PORT, HTTPS_PORT, Fence, Rule, from_namespace, outside
from components.observability.contract import CENTRAL_PROMETHEUS
from components.observability.otel_contract import LOKI_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT
from components.observability.prometheus import POD_NAME_LABEL
from components.serving_stack.addons import (
    DEVICE_PLUGIN_NAMESPACE,
    GATEWAY_STATUS_PORT,
    GATEWAY_TRAFFIC_PORTS,
    ISTIO_CNI_NAMESPACE,
    ISTIO_NAMESPACE,
    KEDA_NAMESPACE,
)
from components.serving_stack.contract import NAMESPACE as SERVING_NAMESPACE
from components.serving_stack.tls import CERT_MANAGER_NAMESPACE
from components.serving_stack.triton import GRPC_PORT, HTTP_PORT

ISTIOD_XDS = 15012
ISTIOD_WEBHOOK = 15017
ISTIOD_MONITORING = 15014
ENVOY_METRICS = 15090
PROMETHEUS_PORT = 9090  # kube-prometheus-stack's Prometheus, and the central one (observability's CENTRAL_PORT)
OPERATOR_WEBHOOK = 10250
KEDA_METRICS_API = 6443
KEDA_WEBHOOK = 9443
CERT_MANAGER_WEBHOOK = 10250
KYVERNO_WEBHOOK = 9443
KYVERNO_METRICS = 8000
OTLP = (OTLP_GRPC_PORT, OTLP_HTTP_PORT)  # the collector agent (spans from proxies and Triton), the trace gateway

EVERY_NAMESPACE = Rule((fence.Peer(namespace="*"),), fence.tcp(ISTIOD_XDS))
HTTPS_OUT = outside(HTTPS_PORT)


def _serving(args: ClusterBaselineArgs) -> Fence:
    """Ingress stays per model (traffic.network_policy): only the gateway and Prometheus, on their ports."""
    egress = [from_namespace(ISTIO_NAMESPACE, ISTIOD_XDS), HTTPS_OUT, from_namespace(args.monitoring_namespace, *OTLP)]
    if args.cloud == "gcp":
        egress += fence.GKE_METADATA
    return Fence(SERVING_NAMESPACE, egress=tuple(egress))


def _gateway(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        args.gateway_namespace,
        ingress=(
            outside(*GATEWAY_TRAFFIC_PORTS, GATEWAY_STATUS_PORT),
            from_namespace(args.monitoring_namespace, ENVOY_METRICS),
        ),
        egress=(
            from_namespace(ISTIO_NAMESPACE, ISTIOD_XDS),
            from_namespace(SERVING_NAMESPACE, HTTP_PORT, GRPC_PORT),
            from_namespace(args.monitoring_namespace, PROMETHEUS_PORT, *OTLP, LOKI_PORT),
        ),
    )


def _istiod(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        ISTIO_NAMESPACE,
        ingress=(
            EVERY_NAMESPACE,
            outside(ISTIOD_WEBHOOK),
            from_namespace(args.monitoring_namespace, ISTIOD_MONITORING),
        ),
        egress=(HTTPS_OUT,),
    )


def _istio_cni(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        ISTIO_CNI_NAMESPACE,
        ingress=(from_namespace(args.monitoring_namespace, ISTIOD_MONITORING),),
        egress=(HTTPS_OUT,),
    )


def _monitoring(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        args.monitoring_namespace,
        ingress=(
            Rule((fence.Peer(namespace=args.monitoring_namespace),)),
            from_namespace(KEDA_NAMESPACE, PROMETHEUS_PORT),
            from_namespace(args.gateway_namespace, PROMETHEUS_PORT, *OTLP, LOKI_PORT),
            from_namespace(SERVING_NAMESPACE, *OTLP),
            outside(OPERATOR_WEBHOOK),
        ),
        egress_anywhere=True,
        except_pods={POD_NAME_LABEL: CENTRAL_PROMETHEUS},  # the central receiver: its own fence (observability)
    )


def _keda(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        KEDA_NAMESPACE,
        ingress=(outside(KEDA_METRICS_API, KEDA_WEBHOOK),),
        egress=(HTTPS_OUT, from_namespace(args.monitoring_namespace, PROMETHEUS_PORT)),
    )


def _device_plugin(_: ClusterBaselineArgs) -> Fence:
    return Fence(DEVICE_PLUGIN_NAMESPACE)


def _cert_manager(_: ClusterBaselineArgs) -> Fence:
    dns_out = Rule((fence.Peer(cidr=fence.ANYWHERE),), (("UDP", DNS_PORT), ("TCP", DNS_PORT)))
    return Fence(CERT_MANAGER_NAMESPACE, ingress=(outside(CERT_MANAGER_WEBHOOK),), egress=(HTTPS_OUT, dns_out))


def _kyverno(args: ClusterBaselineArgs) -> Fence:
    return Fence(
        KYVERNO_NAMESPACE,
        ingress=(outside(KYVERNO_WEBHOOK), from_namespace(args.monitoring_namespace, KYVERNO_METRICS)),
        egress=(HTTPS_OUT,),
    )


FENCES: dict[str, Callable[[ClusterBaselineArgs], Fence]] = {
    SERVING_NAMESPACE: _serving,
    ISTIO_NAMESPACE: _istiod,
    ISTIO_CNI_NAMESPACE: _istio_cni,
    KEDA_NAMESPACE: _keda,
    DEVICE_PLUGIN_NAMESPACE: _device_plugin,
    CERT_MANAGER_NAMESPACE: _cert_manager,
    KYVERNO_NAMESPACE: _kyverno,
}


def fences(args: ClusterBaselineArgs) -> list[Fence]:
    """One Fence per namespace of the cluster; a namespace with no known fence is an error, not a gap."""
    known: dict[str, Callable[[ClusterBaselineArgs], Fence]] = {
        **FENCES,
        args.gateway_namespace: _gateway,
        args.monitoring_namespace: _monitoring,
    }
    unknown = sorted(set(args.namespaces) - set(known))
    if unknown:
        raise ValueError(f"no network fence for namespace(s) {', '.join(unknown)}: add one to network_policies.py")
    return [known[namespace](args) for namespace in args.namespaces]


def install(name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions) -> None:
    for each in fences(args):
        fence.install(f"{name}-{each.namespace}", each, opts)
