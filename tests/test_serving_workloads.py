"""ServingStack model workloads on each cloud: Triton Deployments (versions and the on-demand floor),
Istio traffic with canary weights and mTLS, KEDA scaling, disruption budgets, the metrics scrape,
and every Kubernetes object valid against the official schemas."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest

from components.gpu_cluster.contract import WorkloadIdentity
from components.rclone import Remote, azure_remote, gcs_remote, s3_remote
from components.serving_stack.contract import (
    HEALTH_PATH,
    NAMESPACE,
    SERVICE_ACCOUNT,
    VERSION_HEADER,
    Addons,
    BucketAccess,
    ModelSpec,
    ModelVersion,
    ReaderIdentity,
    ServingStackArgs,
)
from components.serving_stack.triton import NATIVE_SIDECAR_ANNOTATION
from components.serving_stack.workloads import deploy_models
from components.target import Cloud, Target
from preflight.plan import Plan
from tests import k8s_schemas
from tests.helpers import every, only, program_plan

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule"
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"
PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
RELEASE = "kubernetes:helm.sh/v3:Release"

CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
URIS = {"aws": "s3://models-bucket", "gcp": "gs://models-bucket", "azure": "as://modelsacct/models"}
DRAIN = 45
FRAUD = ModelSpec(
    name="fraud",
    versions=(ModelVersion("v1", "fraud/v1", 90), ModelVersion("v2", "fraud/v2", 10)),
    accelerator="T4",
    min_replicas=2,
    max_replicas=6,
    on_demand_floor=1,
    routing="ab",  # a caller may ask for v1 or v2 by header; RANKER is by weight only
)
RANKER = ModelSpec(name="ranker", versions=(ModelVersion("v3", "ranker/v3", 100),), accelerator="L4")
# Hand-made as identity_<cloud>.py makes them: IRSA's role annotation, GKE's direct federation
# (nothing on the service account), Azure's client-id annotation plus the webhook's pod label.
IDENTITY = {
    "aws": ({"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/reader"}, {}, {"AWS_REGION": "us-east-1"}),
    "gcp": ({}, {}, {}),
    "azure": (
        {"azure.workload.identity/client-id": "11111111-2222-3333-4444-555555555555"},
        {"azure.workload.identity/use": "true"},
        {"AZURE_STORAGE_AUTH_TYPE": "default"},
    ),
}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The bucket as rclone reads it with the reader's identity, as identity_<cloud>.py makes it: the SDKs' default
# credential chains (env_auth), the S3 bucket's SSE-KMS options, the Azure account and container from as://A/C.
REMOTES: dict[Cloud, Remote] = {
    "aws": s3_remote("models", "models-bucket", "us-east-1", KMS_KEY, {"env_auth": "true"}),
    "gcp": gcs_remote("models", "models-bucket", {"env_auth": "true"}),
    "azure": azure_remote("models", "modelsacct", "models", {"env_auth": "true", "no_check_container": "true"}),
}
GATEWAY_SELECTOR = {"istio": "ingressgateway"}
PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
POD_MONITOR_LABELS = {"release": "monitoring"}


def target(cloud: Cloud) -> Target:
    if cloud == "aws":
        return Target("t", "aws", "us-east-1", aws.Provider("t", region="us-east-1"))
    if cloud == "gcp":
        return Target("t", "gcp", "us-central1", gcp.Provider("t", project="p-1"), gcp_project="p-1")
    group = pulumi.Output.from_input("rg")
    return Target("t", "azure", "swedencentral", azure_native.Provider("t", location="swedencentral"), None, group)


def serving_plan(cloud: Cloud) -> Plan:
    """deploy_models for two models under a stand-in ServingStack, with real Addons and ReaderIdentity values."""

    def program() -> None:
        parent = pulumi.ComponentResource("mlplatform:serving:ServingStack", "serving")
        provider = k8s.Provider("cluster", kubeconfig="{}")
        args = ServingStackArgs(
            target=target(cloud),
            k8s_provider=provider,
            cluster_name=pulumi.Output.from_input("ml"),
            identity=WorkloadIdentity(oidc_issuer_url=pulumi.Output.from_input("https://issuer.example")),
            bucket=BucketAccess(
                serving_uri=pulumi.Output.from_input(URIS[cloud]),
                bucket_name=pulumi.Output.from_input("models-bucket"),
                resource_id=pulumi.Output.from_input("models-bucket-id"),
            ),
            models=(FRAUD, RANKER),
            drain_seconds=DRAIN,
        )
        istiod = k8s.helm.v3.Release("istiod", chart="istiod", opts=pulumi.ResourceOptions(provider=provider))
        grant = random.RandomString("reader-grant", length=8)  # stands in for the cloud-side role or binding
        annotations, labels, env = IDENTITY[cloud]
        remote = pulumi.Output.from_input(REMOTES[cloud])
        reader = ReaderIdentity(remote, dict(annotations), dict(labels), dict(env), [grant])
        addons = Addons(
            gateway_address=pulumi.Output.from_input("203.0.113.10"),
            gateway_namespace="istio-ingress",
            gateway_selector=dict(GATEWAY_SELECTOR),
            monitoring_namespace="monitoring",
            prometheus_url=PROMETHEUS_URL,
            pod_monitor_labels=dict(POD_MONITOR_LABELS),
            ready=[istiod],
        )
        deploy_models(parent, "serving", args, reader, addons)

    return program_plan(program)


@pytest.fixture(scope="module")
def plans() -> dict[Cloud, Plan]:
    return {cloud: serving_plan(cloud) for cloud in CLOUDS}


@pytest.fixture(params=CLOUDS)
def cloud(request: pytest.FixtureRequest) -> Cloud:
    return request.param


@pytest.fixture
def plan(plans: dict[Cloud, Plan], cloud: Cloud) -> Plan:
    return plans[cloud]


def named(plan: Plan, type_token: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in plan.of_type(type_token)}


def pod_spec(plan: Plan, deployment: str) -> dict[str, Any]:
    return named(plan, DEPLOYMENT)[deployment]["spec"]["template"]["spec"]


def triton(plan: Plan, deployment: str) -> dict[str, Any]:
    (container,) = pod_spec(plan, deployment)["containers"]
    return container


def test_one_deployment_per_version_plus_the_floor_and_a_service_per_model(plan: Plan) -> None:
    assert sorted(named(plan, DEPLOYMENT)) == ["fraud-v1", "fraud-v1-floor", "fraud-v2", "ranker-v3"]
    assert sorted(named(plan, SERVICE)) == ["fraud", "ranker"]
    for name, inputs in named(plan, DEPLOYMENT).items():
        assert inputs["metadata"]["namespace"] == NAMESPACE
        assert "replicas" not in inputs["spec"] or name.endswith("-floor")  # KEDA owns the versions' counts
    assert named(plan, DEPLOYMENT)["fraud-v1-floor"]["spec"]["replicas"] == FRAUD.on_demand_floor
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in named(plan, SERVICE)["fraud"]["spec"]["ports"]}
    assert ports == {"http": (8000, "http"), "grpc": (8001, "grpc"), "http-metrics": (8002, "metrics")}


def test_every_container_has_probes_requests_limits_and_runs_as_non_root(plan: Plan) -> None:
    for name, inputs in named(plan, DEPLOYMENT).items():
        pod = inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
        for container in pod["containers"] + pod.get("initContainers", []):
            init = container in pod.get("initContainers", [])
            # Kubernetes refuses probes on an init container (other than a restartable sidecar): it runs to its end.
            probes = {"startupProbe", "readinessProbe", "livenessProbe"} & container.keys()
            assert probes == (set() if init else {"startupProbe", "readinessProbe", "livenessProbe"}), name
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys() and {"cpu", "memory"} <= resources["limits"].keys()
            security = container["securityContext"]
            # The model wait runs as Istio's proxy uid, which the sidecar's traffic redirect leaves alone.
            assert security["runAsNonRoot"] is True and security["runAsUser"] == (1337 if init else 1000)
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}
            if security.get("readOnlyRootFilesystem"):
                assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]


def test_gpus_are_requested_whole_and_probes_hit_tritons_health_endpoints(plan: Plan) -> None:
    container = triton(plan, "fraud-v1")
    assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"]["nvidia.com/gpu"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}


def test_triton_is_pinned_and_reads_its_version_from_the_bucket(plan: Plan, cloud: Cloud) -> None:
    container = triton(plan, "fraud-v2")
    assert container["image"] == "nvcr.io/nvidia/tritonserver:26.05-py3"
    assert container["command"] == ["tritonserver"]
    assert container["args"][0] == f"--model-repository={URIS[cloud]}/fraud/v2"
    assert {"--http-port=8000", "--grpc-port=8001", "--metrics-port=8002", "--strict-readiness=true"} <= set(
        container["args"]
    )
    assert f"--exit-timeout-secs={DRAIN}" in container["args"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000, "grpc": 8001, "metrics": 8002}
    assert triton(plan, "fraud-v1-floor")["args"][0] == f"--model-repository={URIS[cloud]}/fraud/v1"  # the stable


def waiter(plan: Plan, deployment: str) -> dict[str, Any]:
    (container,) = pod_spec(plan, deployment)["initContainers"]
    return container


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {variable["name"]: variable["value"] for variable in container["env"]}


def test_every_pod_waits_for_its_versions_marker_in_the_bucket_before_triton_starts(plan: Plan, cloud: Cloud) -> None:
    """Triton exits on a repository that is not there yet, and loads whatever is there when it starts."""
    bucket = {"aws": "models-bucket", "gcp": "models-bucket", "azure": "models"}[cloud]
    backend = {"aws": "s3", "gcp": "google cloud storage", "azure": "azureblob"}[cloud]
    for deployment, path in (("fraud-v1", "fraud/v1"), ("fraud-v2", "fraud/v2"), ("fraud-v1-floor", "fraud/v1")):
        wait = waiter(plan, deployment)
        env = environment(wait)
        assert wait["name"] == "wait-for-model"
        # The rclone image the model sync pins, by tag and digest.
        assert wait["image"] == (
            "rclone/rclone:1.75.0@sha256:b06aed988cf5967de7c25be5925240983981c757f4ed1ac9d2fa659d51d60548"
        )
        assert wait["command"][:2] == ["/bin/sh", "-c"] and ".complete" in wait["command"][2]
        # The same version Triton is told to load, as rclone names it and as Triton names it.
        assert env["MODEL_VERSION"] == f"models:{bucket}/{path}"
        assert f"--model-repository={env['MODEL_REPOSITORY']}" == triton(plan, deployment)["args"][0]
        # The bucket as an rclone remote in the environment, authenticated by the pod's workload identity.
        assert env["RCLONE_CONFIG"] == "/dev/null" and env["RCLONE_CONFIG_MODELS_TYPE"] == backend
        assert env["RCLONE_CONFIG_MODELS_ENV_AUTH"] == "true"
        assert not [key for key in env if "KEY" in key and "KMS" not in key]  # no access or account key
        assert IDENTITY[cloud][2].items() <= env.items()  # the identity's variables, as Triton has them
        # Bounded: one attempt gives up within the hour and the kubelet restarts it with its back-off.
        assert 0 < int(env["POLL_SECONDS"]) < int(env["WAIT_SECONDS"]) <= 3600
    if cloud == "aws":
        env = environment(waiter(plan, "fraud-v1"))
        assert env["RCLONE_CONFIG_MODELS_SERVER_SIDE_ENCRYPTION"] == "aws:kms"  # MD5s read from rclone's metadata
        assert env["RCLONE_CONFIG_MODELS_REGION"] == "us-east-1"
    if cloud == "azure":
        assert environment(waiter(plan, "fraud-v1"))["RCLONE_CONFIG_MODELS_ACCOUNT"] == "modelsacct"


def test_the_model_wait_is_locked_down_and_shares_only_tmp_with_triton(plan: Plan) -> None:
    wait = waiter(plan, "ranker-v3")
    security = wait["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]} and security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert (security["runAsUser"], security["runAsGroup"]) == (1337, 1337)
    # /tmp with Triton; the manifest's copy with verify-model only (Triton never mounts it)
    assert wait["volumeMounts"] == [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "manifest", "mountPath": "/var/run/mlplatform/manifest"},
    ]
    triton = pod_spec(plan, "ranker-v3")["containers"][0]
    assert "manifest" not in {mount["name"] for mount in triton["volumeMounts"]}
    assert "nvidia.com/gpu" not in wait["resources"]["limits"]  # the GPU is Triton's


def test_stopping_pods_leave_the_endpoints_then_drain_before_they_are_killed(plan: Plan) -> None:
    pod = pod_spec(plan, "fraud-v1")
    (container,) = pod["containers"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pause > 0
    assert pod["terminationGracePeriodSeconds"] > pause + DRAIN
    # the proxy stops after Triton, so its drain never cuts Triton's short
    annotations = named(plan, DEPLOYMENT)["fraud-v1"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations[NATIVE_SIDECAR_ANNOTATION] == "true"


def test_the_identity_rides_on_the_service_account_and_pods_of_each_cloud(plan: Plan, cloud: Cloud) -> None:
    annotations, labels, env = IDENTITY[cloud]
    account = only(plan, "kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["name"] == SERVICE_ACCOUNT and account["metadata"]["namespace"] == NAMESPACE
    assert account["metadata"].get("annotations", {}) == annotations
    for name, inputs in named(plan, DEPLOYMENT).items():
        template = inputs["spec"]["template"]
        assert template["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
        assert labels.items() <= template["metadata"]["labels"].items(), name
        container_env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
        assert env.items() <= container_env.items(), name


def test_versions_prefer_spot_and_the_floor_runs_on_on_demand_nodes_only(plan: Plan) -> None:
    spot = {"key": "mlplatform.io/capacity", "operator": "In", "values": ["spot"]}
    on_demand = {"key": "mlplatform.io/capacity", "operator": "In", "values": ["on-demand"]}
    for name in ("fraud-v1", "fraud-v2", "ranker-v3"):
        affinity = pod_spec(plan, name)["affinity"]["nodeAffinity"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity  # fallback nodes stay possible
        assert affinity["preferredDuringSchedulingIgnoredDuringExecution"] == [
            {"weight": 100, "preference": {"matchExpressions": [spot]}}
        ]
    floor = pod_spec(plan, "fraud-v1-floor")["affinity"]["nodeAffinity"]
    assert floor == {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [on_demand]}]}
    }


def test_pods_select_the_models_gpu_nodes_and_tolerate_the_clouds_taints(plan: Plan, cloud: Cloud) -> None:
    gpu = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
    aks_spot = {
        "key": "kubernetes.azure.com/scalesetpriority",
        "operator": "Equal",
        "value": "spot",
        "effect": "NoSchedule",
    }
    gke_class = {
        "key": "cloud.google.com/compute-class",
        "operator": "Equal",
        "value": "gpu-t4",
        "effect": "NoSchedule",
    }
    version, floor = pod_spec(plan, "fraud-v1"), pod_spec(plan, "fraud-v1-floor")
    selector = {"mlplatform.io/role": "gpu", "mlplatform.io/accelerator": "t4"}
    if cloud == "gcp":
        selector["cloud.google.com/compute-class"] = "gpu-t4"
    assert version["nodeSelector"] == floor["nodeSelector"] == selector
    expected = {"aws": [gpu], "gcp": [gpu, gke_class], "azure": [gpu, aks_spot]}[cloud]
    assert version["tolerations"] == expected
    assert floor["tolerations"] == [t for t in expected if t != aks_spot]  # no business on spot nodes
    assert pod_spec(plan, "ranker-v3")["nodeSelector"]["mlplatform.io/accelerator"] == "l4"


def test_replicas_spread_over_zones_without_waiting_for_them(plan: Plan) -> None:
    for name in named(plan, DEPLOYMENT):
        (spread,) = pod_spec(plan, name)["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
        assert (
            spread["labelSelector"]["matchLabels"] == named(plan, DEPLOYMENT)[name]["spec"]["selector"]["matchLabels"]
        )


def test_canary_weights_route_stable_and_canary_subsets(plan: Plan) -> None:
    fraud = named(plan, VIRTUAL_SERVICE)["fraud"]["spec"]
    assert fraud["gateways"] == [f"{NAMESPACE}/models"] and fraud["hosts"] == ["*"]
    inference = next(route for route in fraud["http"] if route["name"] == "inference")
    weights = {d["destination"]["subset"]: d["weight"] for d in inference["route"]}
    assert weights == {"v1": 90, "v2": 10}
    assert {d["destination"]["host"] for d in inference["route"]} == {"fraud.serving.svc.cluster.local"}
    assert inference["match"] == [
        {"uri": {"regex": "/v2/models/fraud(/versions/[^/]+)?/infer"}, "method": {"exact": "POST"}}
    ]
    assert inference["retries"] == {"attempts": 2, "perTryTimeout": "30s", "retryOn": "5xx,reset,connect-failure"}
    ranker = named(plan, VIRTUAL_SERVICE)["ranker"]["spec"]["http"]
    assert [{d["destination"]["subset"]: d["weight"] for d in r["route"]} for r in ranker] == [{"v3": 100}] * 2


def test_ab_routing_lets_a_caller_ask_for_a_served_version_by_header_and_nothing_else(plan: Plan) -> None:
    routes = named(plan, VIRTUAL_SERVICE)["fraud"]["spec"]["http"]
    assert [r["name"] for r in routes] == [
        "health",
        "inference-v1",
        "metadata-v1",
        "inference-v2",
        "metadata-v2",
        "unknown-version",
        "inference",
        "metadata",
    ]
    by_name = {r["name"]: r for r in routes}
    asked = by_name["inference-v2"]
    assert asked["match"] == [
        {
            "uri": {"regex": "/v2/models/fraud(/versions/[^/]+)?/infer"},
            "method": {"exact": "POST"},
            "headers": {VERSION_HEADER: {"exact": "v2"}},
        }
    ]
    assert [d["destination"]["subset"] for d in asked["route"]] == ["v2"] and "weight" not in asked["route"][0]
    unknown = by_name["unknown-version"]  # any other value: 404, never the weighted route
    assert unknown["directResponse"]["status"] == 404 and "route" not in unknown
    assert all(m["headers"] == {VERSION_HEADER: {"regex": ".*"}} for m in unknown["match"])
    assert all(r["headers"] == {"request": {"remove": ["x-mlplatform-triton-admin"]}} for r in routes)


def test_subsets_match_the_version_labels_with_outlier_detection_and_pool_limits(plan: Plan) -> None:
    rule = named(plan, DESTINATION_RULE)["fraud"]["spec"]
    assert rule["subsets"] == [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]
    assert rule["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] > 0
    assert rule["trafficPolicy"]["connectionPool"]["http"]["http2MaxRequests"] > 0
    for name in ("fraud-v1", "fraud-v1-floor"):  # the floor serves the stable subset too
        assert named(plan, DEPLOYMENT)[name]["spec"]["template"]["metadata"]["labels"]["version"] == "v1"


def test_the_health_path_is_routed_once_through_the_gateway(plan: Plan) -> None:
    gateway = only(plan, GATEWAY).inputs["spec"]
    assert gateway["selector"] == GATEWAY_SELECTOR
    assert gateway["servers"] == [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    health = [
        route
        for vs in named(plan, VIRTUAL_SERVICE).values()
        for route in vs["spec"]["http"]
        if {"uri": {"exact": HEALTH_PATH}} in route["match"]
    ]
    assert len(health) == 1 and health[0]["route"][0]["destination"]["host"] == "fraud.serving.svc.cluster.local"


def test_strict_mtls_with_tritons_metrics_port_open_to_prometheus(plan: Plan) -> None:
    policies = named(plan, PEER_AUTHENTICATION)
    assert policies["default"]["spec"] == {"mtls": {"mode": "STRICT"}}  # namespace-wide: no selector
    fraud = policies["fraud-metrics"]["spec"]
    assert fraud["selector"] == {"matchLabels": {"app": "fraud"}}
    assert fraud["mtls"] == {"mode": "STRICT"} and fraud["portLevelMtls"] == {"8002": {"mode": "PERMISSIVE"}}


def test_only_the_gateway_and_the_scraper_reach_the_model_pods(plan: Plan) -> None:
    policy = named(plan, NETWORK_POLICY)["fraud"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app": "fraud"}} and policy["policyTypes"] == ["Ingress"]
    allowed = {
        rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: sorted(
            p["port"] for p in rule["ports"]
        )
        for rule in policy["ingress"]
    }
    assert allowed == {"istio-ingress": [8000, 8001], "monitoring": [8002]}
    assert sorted(named(plan, NETWORK_POLICY)) == ["fraud", "ranker"]


def test_keda_scales_each_version_on_tritons_queue_with_cpu_as_fallback(plan: Plan) -> None:
    scaled = named(plan, SCALED_OBJECT)
    assert sorted(scaled) == ["fraud-v1", "fraud-v2", "ranker-v3"]  # not the floor
    deployments = named(plan, DEPLOYMENT)
    for name, inputs in scaled.items():
        spec = inputs["spec"]
        assert spec["scaleTargetRef"]["name"] == name and name in deployments
        model = FRAUD if name.startswith("fraud") else RANKER
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (model.min_replicas, model.max_replicas)
        assert spec["advanced"]["horizontalPodAutoscalerConfig"]["name"] == name  # not keda-hpa-<name>, 63 max
        queue, cpu = spec["triggers"]
        assert queue["type"] == "prometheus"
        assert queue["metadata"]["serverAddress"] == PROMETHEUS_URL
        assert "nv_inference_pending_request_count" in queue["metadata"]["query"]
        assert f'deployment="{name}"' in queue["metadata"]["query"]
        assert float(queue["metadata"]["threshold"]) > 0
        assert cpu == {"type": "cpu", "name": "cpu", "metricType": "Utilization", "metadata": cpu["metadata"]}
        assert cpu["metadata"]["containerName"] == "triton"
    assert not [r for r in plan.resources if r.type.startswith("kubernetes:autoscaling/")]  # KEDA makes the HPAs


def test_prometheus_scrapes_tritons_metrics_port_and_labels_series_with_the_deployment(plan: Plan) -> None:
    monitor = named(plan, POD_MONITOR)["fraud"]
    assert monitor["metadata"]["labels"] == POD_MONITOR_LABELS
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    (relabel,) = endpoint["relabelings"]
    assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_label_mlplatform_io_deployment"]
    assert relabel["targetLabel"] == "deployment"
    for name, inputs in named(plan, DEPLOYMENT).items():
        assert inputs["spec"]["template"]["metadata"]["labels"]["mlplatform.io/deployment"] == name


def test_one_disruption_budget_per_model_over_all_its_replicas(plan: Plan) -> None:
    budgets = named(plan, PDB)
    assert sorted(budgets) == ["fraud", "ranker"]
    assert budgets["fraud"]["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app": "fraud"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def test_pods_wait_for_identity_and_add_ons_and_everything_is_on_the_clusters_provider(plan: Plan) -> None:
    provider = only(plan, "pulumi:providers:kubernetes").urn
    parent = only(plan, "mlplatform:serving:ServingStack").urn
    spaces = plan.of_type("kubernetes:core/v1:Namespace")
    namespace = next(r for r in spaces if r.inputs["metadata"]["name"] == NAMESPACE)
    assert namespace.inputs["metadata"]["labels"]["istio-injection"] == "enabled"
    ready, grant = only(plan, RELEASE).urn, only(plan, "random:index/randomString:RandomString").urn
    account = only(plan, "kubernetes:core/v1:ServiceAccount").urn
    for resource in plan.resources:
        if resource.type.startswith("kubernetes:") and resource.type != RELEASE:
            assert resource.parent == parent and resource.provider == provider, resource.urn
            assert resource.type.endswith(":Namespace") or namespace.urn in resource.dependencies, resource.urn
    for resource in every(plan, DEPLOYMENT):
        assert {ready, grant, account} <= set(resource.dependencies), resource.urn
    for type_token in (SCALED_OBJECT, VIRTUAL_SERVICE, DESTINATION_RULE, PEER_AUTHENTICATION, POD_MONITOR, GATEWAY):
        assert all(ready in r.dependencies for r in every(plan, type_token)), type_token
    # KEDA's webhook reads the target Deployment when the ScaledObject is created; a route changes only once its
    # versions' Deployments are available and their subsets exist; nothing else waits for pods.
    deployments = {r.inputs["metadata"]["name"]: r.urn for r in plan.of_type(DEPLOYMENT)}
    routed = {"fraud": {"fraud-v1", "fraud-v2"}, "ranker": {"ranker-v3"}}
    for resource in plan.resources:
        waits_for = set(deployments.values()) & set(resource.dependencies)
        name = resource.inputs.get("metadata", {}).get("name")
        expected = {deployments[name]} if resource.type == SCALED_OBJECT else set()
        if resource.type == VIRTUAL_SERVICE:
            expected = {deployments[d] for d in routed[name]}
            assert named(plan, DESTINATION_RULE)[name] and any(
                r.urn in resource.dependencies
                for r in every(plan, DESTINATION_RULE)
                if r.inputs["metadata"]["name"] == name
            )
        assert waits_for == expected, resource.urn


def test_builtin_objects_are_valid_kubernetes_1_33(plan: Plan) -> None:
    objects = k8s_schemas.manifests(plan)
    assert not k8s_schemas.placeholders([m for m in objects if m["kind"] != "Secret"])  # a Secret's data is masked
    errors, custom = k8s_schemas.split(objects)
    assert errors == []
    builtin = Counter(m["kind"] for m in objects if m not in custom)
    assert builtin == {
        "Secret": 1,  # Triton's admin key
        "Namespace": 1,
        "ServiceAccount": 1,
        "Service": 2,
        "Deployment": 4,
        "NetworkPolicy": 2,
        "PodDisruptionBudget": 2,
    }


def test_custom_resources_are_valid_against_their_crds(plan: Plan) -> None:
    reason = k8s_schemas.custom_validator_missing()
    if reason:
        pytest.fail(reason)
    _, custom = k8s_schemas.split(k8s_schemas.manifests(plan))
    kinds = {m["kind"] for m in custom}
    assert kinds == {
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "ScaledObject",
        "PodMonitor",
        "ServiceEntry",
    }
    assert k8s_schemas.custom_errors(custom) == []


def test_the_validators_refuse_what_the_cluster_would_refuse(plans: dict[Cloud, Plan]) -> None:
    """A wrong type or an unknown field in a built-in object, a wrong type or enum in a custom resource."""
    objects = k8s_schemas.manifests(plans["aws"])
    deployment = json.loads(json.dumps(next(m for m in objects if m["kind"] == "Deployment")))
    deployment["spec"]["replicas"] = "two"
    misspelled = json.loads(json.dumps(deployment))
    misspelled["spec"]["replicas"] = 1
    misspelled["spec"]["template"]["spec"]["tolerations"][0]["efect"] = "NoSchedule"
    errors, _ = k8s_schemas.split([deployment, misspelled])
    assert len(errors) == 2 and "'two' is not of type 'integer'" in errors[0] and "efect" in errors[1]

    reason = k8s_schemas.custom_validator_missing()
    if reason:
        pytest.fail(reason)
    route = json.loads(json.dumps(next(m for m in objects if m["kind"] == "VirtualService")))
    route["spec"]["http"][-1]["route"][0]["weight"] = "90"
    monitor = json.loads(json.dumps(next(m for m in objects if m["kind"] == "PodMonitor")))
    monitor["spec"]["podMetricsEndpoints"][0]["scheme"] = "tcp"
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems = k8s_schemas.custom_errors([route, monitor, unknown])
    assert len(problems) == 3
    assert "weight must be integer" in problems[0] and "scheme" in problems[1] and "no CRD schema" in problems[2]
