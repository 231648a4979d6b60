"""Cluster add-ons the model servers rely on, as Helm releases of their official charts, versions pinned.

- the NVIDIA device plugin, where the cloud does not run one (it turns GPUs into `nvidia.com/gpu`);
- Istio: base (CRDs), istiod (mTLS, routing, sidecar injection) and an ingress gateway behind a
  LoadBalancer Service, the one public entry for every model;
- kube-prometheus-stack: the Prometheus operator, its CRDs (PodMonitor, ServiceMonitor,
  PrometheusRule) and a Prometheus that KEDA queries for Triton's metrics;
- KEDA, whose ScaledObjects turn a Prometheus query into each model version's HPA.

With TLS, tls.py adds cert-manager with this module's `helm_release`; nothing here knows about TLS.

Every add-on pod runs on the system nodes, except the DaemonSets that must be on every node
(node-exporter) or on the GPU nodes (the device plugin). Values are checked against each chart's
values.yaml and templates at the pinned version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import pod_security
from components.images import Mirrors, chart_values, merged
from components.scheduling import (
    AKS_SPOT_TAINT,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    LABEL_DEVICE_PLUGIN,
    LABEL_ROLE,
    TRAINING_TAINT,
)
from components.serving_stack.contract import Addons, ServingStackArgs
from components.target import Cloud


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str


# Istio 1.31 is supported on Kubernetes 1.32 to 1.36 (istio.io, "Announcing Istio 1.31.0"); 1.31.1
# (2026-09-21) is its newest patch with published release notes, and carries a CVE fix. Base, istiod
# and the gateway must be one version.
ISTIO_VERSION = "1.31.1"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_BASE = Chart("base", ISTIO_VERSION, ISTIO_REPO)
ISTIOD = Chart("istiod", ISTIO_VERSION, ISTIO_REPO)
ISTIO_GATEWAY = Chart("gateway", ISTIO_VERSION, ISTIO_REPO)
# Istio's CNI node agent (chart "cni", same repository and version): it sets up each meshed pod's traffic redirect
# when the pod's network is made, so sidecar pods need no istio-init with NET_ADMIN and NET_RAW (istio.io, "Install
# Istio with the Istio CNI node agent", read 2026-12). Values read in manifests/charts/istio-cni at the release-1.31
# branch (2026-08-20).
ISTIO_CNI = Chart("cni", ISTIO_VERSION, ISTIO_REPO)
# Device plugin 0.20.0: listed in the repository's index.yaml (gh-pages), tag v0.20.0.
DEVICE_PLUGIN = Chart("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin")
# kube-prometheus-stack 88.5.3 (operator v0.93.1, kubeVersion >=1.25): tag kube-prometheus-stack-88.5.3.
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")
# KEDA 2.20 is tested on Kubernetes 1.33-1.35 (keda.sh, "Cluster" compatibility matrix); 2.21 starts
# at 1.34. 2.20.2 is the newest 2.20 chart (kedacore/charts tag v2.20.2).
KEDA = Chart("keda", "2.20.2", "https://kedacore.github.io/charts")

ISTIO_NAMESPACE = "istio-system"  # istiod's global.istioNamespace default; base and istiod live here
ISTIO_CNI_NAMESPACE = "istio-cni"  # the node agent is privileged: alone in its namespace, istio-system stays restricted
GATEWAY_NAMESPACE = "istio-ingress"
MONITORING_NAMESPACE = "monitoring"
KEDA_NAMESPACE = "keda"
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"

# The gateway chart names its Deployment and Service after the release, and labels its pods
# app=<release> and istio=<release without "istio-"> (templates/_helpers.tpl, gateway.selectorLabels).
GATEWAY_RELEASE = "istio-ingressgateway"
GATEWAY_SELECTOR = {"istio": GATEWAY_RELEASE.removeprefix("istio-")}
GATEWAY_STATUS_PORT = 15021  # the chart's status-port; Envoy answers /healthz/ready there
GATEWAY_TRAFFIC_PORTS = (80, 443)  # the chart's http2 and https Service ports

# kube-prometheus-stack names its Prometheus Service "<fullname>-prometheus" on port 9090
# (templates/prometheus/service.yaml, values prometheus.service.port); fullname is pinned here so
# the URL does not depend on the release name.
PROMETHEUS_FULLNAME = "kube-prometheus-stack"
PROMETHEUS_URL = f"http://{PROMETHEUS_FULLNAME}-prometheus.{MONITORING_NAMESPACE}.svc:9090"

# Pod Security levels of the add-ons' namespaces (components/pod_security.py says why each).
NAMESPACE_LEVELS: dict[str, pod_security.Level] = {
    ISTIO_NAMESPACE: pod_security.RESTRICTED,
    ISTIO_CNI_NAMESPACE: pod_security.PRIVILEGED,
    GATEWAY_NAMESPACE: pod_security.RESTRICTED,
    MONITORING_NAMESPACE: pod_security.PRIVILEGED,
    KEDA_NAMESPACE: pod_security.BASELINE,
    DEVICE_PLUGIN_NAMESPACE: pod_security.PRIVILEGED,
}
# Istio's outbound policy: a meshed pod reaches only what the mesh knows (Services, and the ServiceEntries egress.py
# declares); anything else gets a 502 from its sidecar (istio.io, MeshConfig.OutboundTrafficPolicy, read 2026-12).
OUTBOUND_POLICY = "REGISTRY_ONLY"
SECCOMP_RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
# The gateway chart's own pod securityContext, when none is given: the sysctl that lets Envoy bind 80 and 443 as
# non-root (templates/deployment.yaml). Passing a securityContext replaces it, so it is repeated here.
UNPRIVILEGED_PORTS = {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}

TIMEOUT_SECONDS = 600  # Helm waits for readiness, including the gateway's load balancer address

SYSTEM_NODES = {LABEL_ROLE: "system"}
GPU_NODES = {LABEL_ROLE: "gpu"}
# AKS's system pool here is tainted CriticalAddonsOnly=true:NoSchedule; the other clouds have no
# such taint, and a toleration without a taint changes nothing.
CRITICAL_ADDONS = {"key": "CriticalAddonsOnly", "operator": "Exists"}
TOLERATE_EVERYTHING = {"operator": "Exists"}  # empty key + Exists matches every taint


def install(parent: pulumi.Resource, name: str, args: ServingStackArgs) -> Addons:
    """Install the add-ons; models wait for the releases that bring their CRDs and webhooks."""
    cloud = args.target.cloud
    spaces = _namespaces(parent, name, args)
    if args.needs_device_plugin:
        helm_release(
            parent,
            f"{name}-device-plugin",
            args,
            DEVICE_PLUGIN,
            DEVICE_PLUGIN_NAMESPACE,
            device_plugin_values(),
            namespace_resource=spaces[DEVICE_PLUGIN_NAMESPACE],
        )
    istio = spaces[ISTIO_NAMESPACE]
    base = helm_release(
        parent,
        f"{name}-istio-base",
        args,
        ISTIO_BASE,
        ISTIO_NAMESPACE,
        {},
        release="istio-base",
        namespace_resource=istio,
    )
    # The node agent before istiod: a pod injected for CNI starts only where the agent has set its redirect up.
    cni = helm_release(
        parent,
        f"{name}-istio-cni",
        args,
        ISTIO_CNI,
        ISTIO_CNI_NAMESPACE,
        istio_cni_values(cloud),
        release="istio-cni",
        namespace_resource=spaces[ISTIO_CNI_NAMESPACE],
    )
    istiod = helm_release(
        parent,
        f"{name}-istiod",
        args,
        ISTIOD,
        ISTIO_NAMESPACE,
        merged_values(istiod_values(cloud), {"meshConfig": dict(args.mesh_config)}),
        depends_on=[base, cni],
        namespace_resource=istio,
    )
    # The gateway's pods are injected by istiod's webhook, so istiod must be ready first.
    gateway = helm_release(
        parent,
        f"{name}-istio-gateway",
        args,
        ISTIO_GATEWAY,
        GATEWAY_NAMESPACE,
        gateway_values(cloud),
        release=GATEWAY_RELEASE,
        depends_on=[istiod],
        namespace_resource=spaces[GATEWAY_NAMESPACE],
    )
    monitoring = helm_release(
        parent,
        f"{name}-monitoring",
        args,
        KUBE_PROMETHEUS_STACK,
        MONITORING_NAMESPACE,
        merged_values(monitoring_values(cloud), args.monitoring_values),
        namespace_resource=spaces[MONITORING_NAMESPACE],
    )
    keda = helm_release(
        parent, f"{name}-keda", args, KEDA, KEDA_NAMESPACE, keda_values(), namespace_resource=spaces[KEDA_NAMESPACE]
    )
    ready: list[pulumi.Resource] = [base, cni, istiod, monitoring, keda]
    return Addons(
        gateway_address=_gateway_address(parent, name, args, gateway),
        gateway_namespace=GATEWAY_NAMESPACE,
        gateway_selector=dict(GATEWAY_SELECTOR),
        monitoring_namespace=MONITORING_NAMESPACE,
        prometheus_url=PROMETHEUS_URL,
        pod_monitor_labels={},  # the Prometheus selects every PodMonitor (monitoring_values)
        ready=ready,
    )


def namespace_levels(args: ServingStackArgs) -> dict[str, pod_security.Level]:
    """The add-ons' namespaces in this cluster (the device plugin's only where it is installed) and their levels."""
    return {
        space: level
        for space, level in NAMESPACE_LEVELS.items()
        if space != DEVICE_PLUGIN_NAMESPACE or args.needs_device_plugin
    }


def _namespaces(parent: pulumi.Resource, name: str, args: ServingStackArgs) -> dict[str, k8s.core.v1.Namespace]:
    """The add-ons' namespaces, made before their charts so each carries its Pod Security labels from the start."""
    opts = pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider)
    return {
        space: pod_security.namespace(f"{name}-namespace-{space}", space, level, opts)
        for space, level in namespace_levels(args).items()
    }


def helm_release(
    parent: pulumi.Resource,
    resource_name: str,
    args: ServingStackArgs,
    chart: Chart,
    namespace: str,
    values: dict[str, Any],
    *,
    release: str | None = None,
    depends_on: list[pulumi.Resource] | None = None,
    namespace_resource: k8s.core.v1.Namespace | None = None,
) -> k8s.helm.v3.Release:
    """One pinned chart of the serving stack's add-ons.

    With `namespace_resource` (a namespace made with its Pod Security labels) the release waits for it and Helm
    makes none; without, Helm creates a bare namespace.
    """
    after = [*(depends_on or []), *([namespace_resource] if namespace_resource is not None else [])]
    return pinned_release(
        resource_name,
        chart,
        namespace,
        values,
        args.image_mirrors,
        pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider, depends_on=after),
        release=release,
        create_namespace=namespace_resource is None,
    )


def pinned_release(
    resource_name: str,
    chart: Chart,
    namespace: str,
    values: dict[str, Any],
    mirrors: Mirrors,
    opts: pulumi.ResourceOptions,
    *,
    release: str | None = None,
    create_namespace: bool | None = None,
) -> k8s.helm.v3.Release:
    """One pinned chart; a fixed release name (one of each per cluster) keeps the names charts derive stable.

    The chart's images go by digest where the platform's table knows one, through the footprint's registry where it
    mirrors their upstream (components/images.py); nothing changes when neither applies.
    """
    return k8s.helm.v3.Release(
        resource_name,
        name=release or chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        namespace=namespace,
        create_namespace=create_namespace,
        values=merged(values, chart_values(chart.name, chart.version, mirrors)),
        timeout=TIMEOUT_SECONDS,
        opts=opts,
    )


def system_placement() -> dict[str, Any]:
    """nodeSelector and tolerations that put a pod on the system nodes, on every cloud."""
    return {"nodeSelector": dict(SYSTEM_NODES), "tolerations": [dict(CRITICAL_ADDONS)]}


def device_plugin_values() -> dict[str, Any]:
    """Only on GPU nodes, including AKS spot nodes (AKS taints them itself), but not on those whose node image runs
    the plugin itself (EKS Bottlerocket with the image cache: components/gpu_cluster/aws_image_cache.py).

    The chart's default affinity requires node-feature-discovery labels, which nothing here sets:
    its node-selector terms (a list, which Helm replaces rather than merges) are replaced by ours.
    """
    spot_key, spot_value, spot_effect = AKS_SPOT_TAINT
    return {
        "nodeSelector": dict(GPU_NODES),
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": LABEL_ROLE, "operator": "In", "values": [GPU_NODES[LABEL_ROLE]]},
                                {"key": LABEL_DEVICE_PLUGIN, "operator": "DoesNotExist"},
                            ]
                        }
                    ]
                }
            }
        },
        "tolerations": [
            {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT},
            {"key": spot_key, "operator": "Equal", "value": spot_value, "effect": spot_effect},
            # training nodes' GPUs are advertised by the same plugin (components/scheduling.py, TRAINING_TAINT)
            {"key": TRAINING_TAINT[0], "operator": "Exists", "effect": TRAINING_TAINT[2]},
        ],
    }


def istiod_values(cloud: Cloud) -> dict[str, Any]:
    """istiod on the system nodes; metrics merging kept on explicitly (it is the chart's default too).

    With merging, each sidecar serves the app's metrics (Triton's :8002) merged with its own on the
    plain-text port 15020, so Prometheus scrapes them without a mesh certificate under STRICT mTLS.

    Fencing: `pilot.cni.enabled` injects `istio-validation` (non-root, no capabilities) instead of `istio-init`
    (files/injection-template.yaml); outbound traffic is REGISTRY_ONLY; istiod and every injected proxy get the
    RuntimeDefault seccomp profile (values `seccompProfile` and `global.proxy.seccompProfile`, empty by default).
    """
    values: dict[str, Any] = {
        **system_placement(),
        "pilot": {"cni": {"enabled": True}},
        "seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT),
        "global": {"proxy": {"seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT)}},
        "meshConfig": {"enablePrometheusMerge": True, "outboundTrafficPolicy": {"mode": OUTBOUND_POLICY}},
    }
    if cloud == "gcp":
        values["global"]["platform"] = "gke"
    return values


def istio_cni_values(cloud: Cloud) -> dict[str, Any]:
    """The CNI node agent on every node (its chart tolerates every taint by default); GKE's platform profile.

    On GKE, `global.platform: gke` loads files/profile-platform-gke.yaml: the CNI binary directory is detected
    (/home/kubernetes/bin, where GKE's kubelet looks) and a ResourceQuota admits the agent's system-node-critical
    pods outside kube-system, which GKE otherwise refuses. EKS (VPC CNI) and AKS (Azure CNI powered by Cilium) use the
    chart's defaults, /opt/cni/bin and /etc/cni/net.d, chained after the cluster's own CNI.
    """
    values: dict[str, Any] = {"seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT)}
    if cloud == "gcp":
        values["global"] = {"platform": "gke"}
    return values


def gateway_values(cloud: Cloud) -> dict[str, Any]:
    """The ingress gateway: two replicas on system nodes, spread over zones, behind a LoadBalancer."""
    return {
        **system_placement(),
        # restricted Pod Security: the chart's default sysctl plus the RuntimeDefault seccomp profile it leaves out.
        "securityContext": {"sysctls": [dict(UNPRIVILEGED_PORTS)], "seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT)},
        "service": {"type": "LoadBalancer", "annotations": gateway_service_annotations(cloud)},
        # One gateway serves every model: two replicas and a PDB keep it up through node drains.
        # The chart creates the PDB only when autoscaling.minReplicas > 1 (poddisruptionbudget.yaml).
        "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5},
        "podDisruptionBudget": {"minAvailable": 1},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(GATEWAY_SELECTOR)},
            }
        ],
    }


def gateway_service_annotations(cloud: Cloud) -> dict[str, str]:
    """What each cloud's load balancer controller needs to front the gateway well."""
    if cloud == "aws":
        # The in-tree AWS controller (no AWS Load Balancer Controller in these clusters) makes an
        # NLB instead of a Classic ELB for this value (kubernetes.io, well-known annotations).
        return {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    if cloud == "azure":
        return _azure_probe_annotations()
    return {}  # GKE: a passthrough network load balancer, nothing to add


def _azure_probe_annotations() -> dict[str, str]:
    """Probe Envoy's readiness on the status port for the traffic ports; keep the status port private.

    The chart's ports carry no appProtocol, so cloud-provider-azure would probe them with bare
    TCP, which passes while Envoy is not ready; the global request-path annotation is ignored
    without an HTTP protocol. Per-port annotations set protocol, port (a Service port number
    resolves to its node port) and path. Source: cloud-provider-azure docs, "Custom Load Balancer
    health probe for port" (its example is this Istio setup) and pkg/provider/azure_loadbalancer_healthprobe.go.
    """
    prefix = "service.beta.kubernetes.io"
    annotations = {f"{prefix}/port_{GATEWAY_STATUS_PORT}_no_lb_rule": "true"}
    for port in GATEWAY_TRAFFIC_PORTS:
        annotations[f"{prefix}/port_{port}_health-probe_protocol"] = "http"
        annotations[f"{prefix}/port_{port}_health-probe_port"] = str(GATEWAY_STATUS_PORT)
        annotations[f"{prefix}/port_{port}_health-probe_request-path"] = "/healthz/ready"
    return annotations


def monitoring_values(cloud: Cloud) -> dict[str, Any]:
    """Prometheus selecting monitors and rules from every namespace, on system nodes.

    With *SelectorNilUsesHelmValues=false the chart renders empty selectors (match everything)
    instead of `release: <name>`; its namespace selectors are already `{}`, all namespaces
    (templates/prometheus/prometheus.yaml). Grafana is off here; the footprint's observability
    (ServingStackArgs.monitoring_values, components/observability/values.py) turns it on in the
    central footprint and adds external labels, remote write and the rule selector. Alertmanager
    stays: each cluster's alerts go to its own.
    """
    placement = system_placement()
    return {
        "fullnameOverride": PROMETHEUS_FULLNAME,
        "grafana": {"enabled": False},
        "prometheus": {
            "prometheusSpec": {
                **placement,
                "podMonitorSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
            }
        },
        "alertmanager": {"alertmanagerSpec": placement},
        "prometheusOperator": {**placement, "admissionWebhooks": {"patch": placement}},
        "kube-state-metrics": placement,
        # node-exporter is a DaemonSet that must run on every node, GPU and spot nodes included.
        "prometheus-node-exporter": {"tolerations": [dict(TOLERATE_EVERYTHING)]},
        **_control_plane_scrapes(cloud),
    }


def merged_values(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's own rule for a values file over defaults: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merged_values(current, value)
        else:
            merged[key] = value
    return merged


def _control_plane_scrapes(cloud: Cloud) -> dict[str, Any]:
    """Turn off scrapes of what a managed cluster hides or does not run, and their alerts with them.

    etcd, the scheduler and the controller manager are behind the managed control plane on all three.
    GKE Dataplane V2 uses neither kube-proxy nor iptables (GKE docs, "Dataplane V2"), AKS's Cilium
    dataplane balances Services in eBPF instead of kube-proxy (Azure CNI powered by Cilium), and GKE
    Standard's default DNS is kube-dns, not CoreDNS. The chart drops the matching alert rules too.
    """
    hidden = {"kubeEtcd": {"enabled": False}, "kubeScheduler": {"enabled": False}}
    hidden["kubeControllerManager"] = {"enabled": False}
    if cloud != "aws":
        hidden["kubeProxy"] = {"enabled": False}
    if cloud == "gcp":
        hidden["coreDns"] = {"enabled": False}
    return hidden


def keda_values() -> dict[str, Any]:
    """The chart's top-level nodeSelector/tolerations apply to the operator, metrics server and webhooks."""
    return system_placement()


def gateway_namespace(addons: Addons) -> pulumi.Output[str]:
    """The gateway's namespace, read through its address: the gateway release creates the namespace, and
    `Addons.ready` does not hold that release, so an object placed with this waits for it."""
    return addons.gateway_address.apply(lambda _: addons.gateway_namespace)


def _gateway_address(
    parent: pulumi.Resource, name: str, args: ServingStackArgs, gateway: k8s.helm.v3.Release
) -> pulumi.Output[str]:
    """Read the gateway chart's Service once Helm has seen its load balancer address.

    Helm's wait treats a LoadBalancer Service as ready only once status.loadBalancer.ingress is set
    (helm pkg/kube/ready.go), so the read after the release finds the address: a hostname on AWS,
    an IP on GCP and Azure.
    """
    service_id = gateway.status.apply(lambda status: f"{status.namespace}/{status.name}")
    service = k8s.core.v1.Service.get(
        f"{name}-gateway-service",
        service_id,
        opts=pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider, depends_on=[gateway]),
    )
    return service.status.apply(_load_balancer_address)


def _load_balancer_address(status: k8s.core.v1.outputs.ServiceStatus | None) -> str:
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    for point in ingress:
        if point.hostname or point.ip:
            return str(point.hostname or point.ip)
    raise ValueError(f"the {GATEWAY_RELEASE} Service has no load balancer address yet")
