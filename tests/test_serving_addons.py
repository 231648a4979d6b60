"""ServingStack add-ons: pinned official charts for the device plugin, Istio, kube-prometheus-stack and KEDA,
placed on the system nodes, and the ingress gateway's load balancer address read back after the install."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest
from pulumi_azure_native import resources

from components.gpu_cluster.contract import WorkloadIdentity
from components.kubernetes_support import DEFAULT_VERSION
from components.serving_stack import addons
from components.serving_stack.contract import BucketAccess, ServingStackArgs
from components.target import Cloud, Target
from preflight.plan import Plan, PlannedResource
from tests.helpers import only, program_plan

PARENT_TYPE = "mlplatform:test:ServingStack"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
PROJECT = "p-12345"

# Where each chart is published: the projects' own Helm install instructions (NVIDIA k8s-device-plugin README, istio.io
# "Install with Helm", prometheus-community/helm-charts README, keda.sh "Deploying KEDA"), read 2026-12.
OFFICIAL_REPOSITORIES = {
    "nvidia-device-plugin": "https://nvidia.github.io/k8s-device-plugin",
    "base": "https://istio-release.storage.googleapis.com/charts",
    "istiod": "https://istio-release.storage.googleapis.com/charts",
    "gateway": "https://istio-release.storage.googleapis.com/charts",
    "cni": "https://istio-release.storage.googleapis.com/charts",
    "kube-prometheus-stack": "https://prometheus-community.github.io/helm-charts",
    "keda": "https://kedacore.github.io/charts",
}


@dataclass(frozen=True)
class Support:
    """The Kubernetes minors a chart version supports, as its source states them (None: no upper bound stated)."""

    lowest: tuple[int, int]
    highest: tuple[int, int] | None
    source: str


# Each pinned chart version, with the Kubernetes minors its project supports, read 2026-12. A new pin fails
# test_every_pinned_chart_supports_the_default_kubernetes_minor until its range is looked up and added here.
CHART_SUPPORT = {
    ("nvidia-device-plugin", "0.20.0"): Support(
        (1, 10), None, "NVIDIA/k8s-device-plugin v0.20.0, deployments/helm/nvidia-device-plugin/Chart.yaml: >= 1.10.0-0"
    ),
    **{
        (chart, "1.31.1"): Support(
            (1, 32), (1, 36), "istio.io Supported Releases (data/compatibility/supportStatus.yml): 1.31 on 1.32-1.36"
        )
        for chart in ("base", "istiod", "gateway", "cni")
    },
    ("kube-prometheus-stack", "88.5.3"): Support(
        (1, 25), None, "prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3, Chart.yaml: >=1.25.0-0"
    ),
    ("keda", "2.20.2"): Support(
        (1, 33), (1, 35), "keda.sh Cluster compatibility matrix: v2.20 tested on v1.33-v1.35 (Chart.yaml: >=v1.23.0-0)"
    ),
}
SYSTEM_SELECTOR = {"mlplatform.io/role": "system"}
AKS_SYSTEM_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists"}
# EKS's AL2023 NVIDIA AMI and AKS both ship the driver but not the device plugin (AWS "Install
# Kubernetes device plugin for GPUs"; AKS "Use GPUs": "you need to install the device plugin");
# GKE deploys its own. The flag is the caller's: these tests pass what each cloud needs.
NEEDS_DEVICE_PLUGIN = {"aws": True, "gcp": False, "azure": True}


def _target(cloud: Cloud) -> Target:
    if cloud == "aws":
        return Target("t", "aws", "us-east-1", aws.Provider("t", region="us-east-1"))
    if cloud == "gcp":
        return Target("t", "gcp", "us-central1", gcp.Provider("t", project=PROJECT), gcp_project=PROJECT)
    provider = azure_native.Provider("t", location="westeurope")
    group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
    return Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)


def _args(cloud: Cloud, needs_device_plugin: bool) -> ServingStackArgs:
    known = pulumi.Output.from_input
    return ServingStackArgs(
        target=_target(cloud),
        k8s_provider=k8s.Provider("k8s", kubeconfig="apiVersion: v1\nkind: Config\n"),
        cluster_name=known("ml"),
        identity=WorkloadIdentity(oidc_issuer_url=known("https://issuer.example")),
        bucket=BucketAccess(serving_uri=known("s3://models"), bucket_name=known("models"), resource_id=known("m")),
        models=(),
        needs_device_plugin=needs_device_plugin,
    )


def addons_plan(cloud: Cloud, needs_device_plugin: bool) -> Plan:
    """addons.install under a stand-in ServingStack component, with what it returns exported."""

    def program() -> None:
        parent = pulumi.ComponentResource(PARENT_TYPE, "serving")
        installed = addons.install(parent, "serving", _args(cloud, needs_device_plugin))
        pulumi.export("gatewayAddress", installed.gateway_address)
        pulumi.export("gatewayNamespace", installed.gateway_namespace)
        pulumi.export("gatewaySelector", installed.gateway_selector)
        pulumi.export("monitoringNamespace", installed.monitoring_namespace)
        pulumi.export("prometheusUrl", installed.prometheus_url)
        pulumi.export("podMonitorLabels", installed.pod_monitor_labels)
        pulumi.export("ready", pulumi.Output.all(*[r.urn for r in installed.ready]))

    return program_plan(program)


@pytest.fixture(scope="module")
def plans() -> dict[Cloud, Plan]:
    return {cloud: addons_plan(cloud, NEEDS_DEVICE_PLUGIN[cloud]) for cloud in CLOUDS}


@pytest.fixture(scope="module", params=CLOUDS)
def cloud(request: pytest.FixtureRequest) -> Cloud:
    value: Cloud = request.param
    return value


@pytest.fixture(scope="module")
def plan(plans: dict[Cloud, Plan], cloud: Cloud) -> Plan:
    return plans[cloud]


def releases(plan: Plan) -> dict[str, PlannedResource]:
    return {r.inputs["chart"]: r for r in plan.of_type(RELEASE)}


def values(plan: Plan, chart: str) -> dict[str, Any]:
    return dict(releases(plan)[chart].inputs["values"])


def test_every_release_is_an_official_chart_pinned_to_an_exact_version(plan: Plan, cloud: Cloud) -> None:
    expected = set(OFFICIAL_REPOSITORIES) - (set() if NEEDS_DEVICE_PLUGIN[cloud] else {"nvidia-device-plugin"})
    assert set(releases(plan)) == expected
    for chart, release in releases(plan).items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", release.inputs["version"]), (chart, release.inputs["version"])
        assert release.inputs["repositoryOpts"] == {"repo": OFFICIAL_REPOSITORIES[chart]}, chart
        # Each namespace is made first with its Pod Security labels (components/pod_security.py); Helm makes none.
        assert release.inputs["createNamespace"] is False


def test_every_pinned_chart_supports_the_default_kubernetes_minor(plans: dict[Cloud, Plan]) -> None:
    default = tuple(int(part) for part in DEFAULT_VERSION.split("."))
    pinned = {(chart, r.inputs["version"]) for plan in plans.values() for chart, r in releases(plan).items()}
    assert len(pinned) == len(OFFICIAL_REPOSITORIES)
    for chart, version in sorted(pinned):
        support = CHART_SUPPORT.get((chart, version))
        assert support, f"{chart} {version}: look up the Kubernetes minors it supports and add them with their source"
        assert support.lowest <= default, (chart, version, support.source)
        assert support.highest is None or default <= support.highest, (chart, version, support.source)


def test_the_istio_charts_are_one_version(plans: dict[Cloud, Plan]) -> None:
    """Istio's base, istiod and gateway charts are installed together at one version (istio.io, Install with Helm)."""
    by_chart = releases(plans["aws"])
    assert by_chart["base"].inputs["version"] == by_chart["istiod"].inputs["version"]
    assert by_chart["istiod"].inputs["version"] == by_chart["gateway"].inputs["version"]


def test_releases_have_fixed_names_and_their_own_namespaces(plan: Plan) -> None:
    placed = {chart: (r.inputs["name"], r.inputs["namespace"]) for chart, r in releases(plan).items()}
    assert placed["base"] == ("istio-base", "istio-system")
    assert placed["istiod"] == ("istiod", "istio-system")
    assert placed["gateway"] == ("istio-ingressgateway", "istio-ingress")
    assert placed["kube-prometheus-stack"] == ("kube-prometheus-stack", "monitoring")
    assert placed["keda"] == ("keda", "keda")


def test_every_object_is_a_child_of_the_stack_on_the_clusters_kubernetes_provider(plan: Plan) -> None:
    parent = only(plan, PARENT_TYPE)
    provider = only(plan, "pulumi:providers:kubernetes")
    for resource in [*plan.of_type(RELEASE), *plan.of_type(SERVICE)]:
        assert resource.parent == parent.urn, resource.urn
        assert resource.provider == provider.urn, resource.urn


def test_istiod_waits_for_base_and_the_gateway_for_istiod(plan: Plan) -> None:
    by_chart = releases(plan)
    assert by_chart["base"].urn in by_chart["istiod"].dependencies
    assert by_chart["istiod"].urn in by_chart["gateway"].dependencies


def test_releases_bringing_crds_and_webhooks_are_what_models_wait_for(plan: Plan) -> None:
    by_chart = releases(plan)
    expected = [by_chart[chart].urn for chart in ("base", "cni", "istiod", "kube-prometheus-stack", "keda")]
    assert plan.outputs["ready"] == expected


def test_the_device_plugin_is_installed_only_when_the_cloud_lacks_one(plans: dict[Cloud, Plan]) -> None:
    assert "nvidia-device-plugin" in releases(plans["aws"])
    assert "nvidia-device-plugin" in releases(plans["azure"])
    assert "nvidia-device-plugin" not in releases(plans["gcp"])
    assert "nvidia-device-plugin" not in releases(addons_plan("aws", needs_device_plugin=False))


def test_the_device_plugin_runs_on_gpu_nodes_only_and_tolerates_their_taints(plans: dict[Cloud, Plan]) -> None:
    plugin = values(plans["aws"], "nvidia-device-plugin")
    assert releases(plans["aws"])["nvidia-device-plugin"].inputs["namespace"] == "nvidia-device-plugin"
    assert plugin["nodeSelector"] == {"mlplatform.io/role": "gpu"}
    # The chart's default affinity wants node-feature-discovery labels; ours replaces its terms. Nodes whose image
    # runs the plugin itself (EKS Bottlerocket with the image cache) carry mlplatform.io/device-plugin: not there.
    terms = plugin["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    role = {"key": "mlplatform.io/role", "operator": "In", "values": ["gpu"]}
    assert terms == [{"matchExpressions": [role, {"key": "mlplatform.io/device-plugin", "operator": "DoesNotExist"}]}]
    assert plugin["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"},
        {"key": "mlplatform.io/training", "operator": "Exists", "effect": "NoSchedule"},  # training nodes' GPUs
    ]


def test_the_gateway_is_a_load_balancer_with_what_each_cloud_needs(plans: dict[Cloud, Plan]) -> None:
    def service(cloud: Cloud) -> dict[str, Any]:
        return dict(values(plans[cloud], "gateway")["service"])

    assert {service(cloud)["type"] for cloud in CLOUDS} == {"LoadBalancer"}
    assert service("aws")["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    assert service("gcp")["annotations"] == {}
    azure = service("azure")["annotations"]
    prefix = "service.beta.kubernetes.io"
    for port in (80, 443):
        assert azure[f"{prefix}/port_{port}_health-probe_protocol"] == "http"
        assert azure[f"{prefix}/port_{port}_health-probe_port"] == "15021"
        assert azure[f"{prefix}/port_{port}_health-probe_request-path"] == "/healthz/ready"
    assert azure[f"{prefix}/port_15021_no_lb_rule"] == "true"  # the status port stays off the internet
    assert all(isinstance(value, str) for value in azure.values())  # annotation values are strings


def test_the_gateway_keeps_two_replicas_behind_a_disruption_budget(plan: Plan) -> None:
    gateway = values(plan, "gateway")
    assert gateway["autoscaling"]["minReplicas"] == 2  # the chart makes the PDB only above 1
    assert gateway["podDisruptionBudget"] == {"minAvailable": 1}
    spread = gateway["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["labelSelector"] == {"matchLabels": {"istio": "ingressgateway"}}


def test_istiod_keeps_prometheus_metrics_merging_on(plan: Plan) -> None:
    assert values(plan, "istiod")["meshConfig"]["enablePrometheusMerge"] is True


def _system_placements(plan: Plan) -> dict[str, dict[str, Any]]:
    """Every pod-placement block of the releases whose pods belong on the system nodes."""
    monitoring = values(plan, "kube-prometheus-stack")
    return {
        "istiod": values(plan, "istiod"),
        "gateway": values(plan, "gateway"),
        "keda": values(plan, "keda"),
        "prometheus": monitoring["prometheus"]["prometheusSpec"],
        "alertmanager": monitoring["alertmanager"]["alertmanagerSpec"],
        "operator": monitoring["prometheusOperator"],
        "operator-webhook-patch": monitoring["prometheusOperator"]["admissionWebhooks"]["patch"],
        "kube-state-metrics": monitoring["kube-state-metrics"],
    }


def test_add_ons_run_on_system_nodes_and_tolerate_the_aks_system_taint(plan: Plan) -> None:
    for component, placement in _system_placements(plan).items():
        assert placement["nodeSelector"] == SYSTEM_SELECTOR, component
        assert AKS_SYSTEM_TOLERATION in placement["tolerations"], component


def test_node_exporter_tolerates_every_taint_so_gpu_nodes_are_scraped(plan: Plan) -> None:
    exporter = values(plan, "kube-prometheus-stack")["prometheus-node-exporter"]
    assert exporter["tolerations"] == [{"operator": "Exists"}]
    assert "nodeSelector" not in exporter  # a DaemonSet for every node


def test_prometheus_selects_monitors_and_rules_from_every_namespace(plan: Plan) -> None:
    spec = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    for kind in ("podMonitor", "serviceMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        assert f"{kind}NamespaceSelector" not in spec, kind  # the chart's `{}`: all namespaces
    assert plan.outputs["podMonitorLabels"] == {}


def test_prometheus_url_names_the_charts_service(plan: Plan) -> None:
    monitoring = values(plan, "kube-prometheus-stack")
    assert monitoring["fullnameOverride"] == "kube-prometheus-stack"
    assert plan.outputs["prometheusUrl"] == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    assert plan.outputs["monitoringNamespace"] == "monitoring"
    assert monitoring["grafana"] == {"enabled": False}


def test_managed_control_planes_are_not_scraped(plans: dict[Cloud, Plan]) -> None:
    for cloud, plan in plans.items():
        monitoring = values(plan, "kube-prometheus-stack")
        for hidden in ("kubeEtcd", "kubeScheduler", "kubeControllerManager"):
            assert monitoring[hidden] == {"enabled": False}, (cloud, hidden)
    assert "kubeProxy" not in values(plans["aws"], "kube-prometheus-stack")  # EKS runs kube-proxy
    assert values(plans["gcp"], "kube-prometheus-stack")["kubeProxy"] == {"enabled": False}
    assert values(plans["azure"], "kube-prometheus-stack")["kubeProxy"] == {"enabled": False}
    assert values(plans["gcp"], "kube-prometheus-stack")["coreDns"] == {"enabled": False}


def test_gateway_selector_matches_the_charts_pod_labels(plan: Plan) -> None:
    # gateway.selectorLabels: istio=<release name without the "istio-" prefix>
    release = releases(plan)["gateway"].inputs["name"]
    assert plan.outputs["gatewaySelector"] == {"istio": release.removeprefix("istio-")}
    assert plan.outputs["gatewayNamespace"] == releases(plan)["gateway"].inputs["namespace"]


def test_gateway_address_is_read_from_the_charts_service_after_the_release(plan: Plan) -> None:
    gateway = releases(plan)["gateway"]
    service = only(plan, SERVICE)
    assert service.inputs["id"] == "istio-ingress/istio-ingressgateway"  # the chart names it after the release
    assert gateway.urn in service.dependencies
    assert ipaddress.ip_address(plan.outputs["gatewayAddress"]) in ipaddress.ip_network("203.0.113.0/24")
