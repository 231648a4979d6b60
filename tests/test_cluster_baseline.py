"""ClusterBaseline (network fences, Kyverno) through its component API, and the fences of every cluster in the plans:
default-deny NetworkPolicies, Istio CNI and REGISTRY_ONLY egress, pods kept off the instance metadata service."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.cluster_baseline import ClusterBaseline, ClusterBaselineArgs
from components.cluster_baseline import kyverno as kyverno_module
from components.kubernetes_support import DEFAULT_VERSION
from components.target import Cloud
from preflight.plan import Plan, PlannedResource
from tests import k8s_schemas
from tests.helpers import every, isolated_namespaces, nonempty, program_plan

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CLUSTER_POLICY = "kubernetes:kyverno.io/v1:ClusterPolicy"
SERVICE_ENTRY = "kubernetes:networking.istio.io/v1:ServiceEntry"
NAMESPACES = {
    "serving": "restricted",
    "istio-system": "restricted",
    "istio-cni": "privileged",
    "istio-ingress": "restricted",
    "monitoring": "privileged",
    "keda": "baseline",
}
PLATFORM = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplatform/prod/images"
DNS_RULE = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


def baseline_plan(cloud: Cloud, *, enforce: bool = True, namespaces: dict[str, Any] | None = None) -> Plan:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        ClusterBaseline(
            "baseline",
            ClusterBaselineArgs(
                cloud=cloud,
                k8s_provider=provider,
                namespaces=namespaces if namespaces is not None else NAMESPACES,
                gateway_namespace="istio-ingress",
                monitoring_namespace="monitoring",
                image_prefixes=(PLATFORM, "nvcr.io"),
                enforce=enforce,
                kyverno_replicas=3 if enforce else 1,
            ),
        )

    return program_plan(program)


@pytest.fixture(scope="module")
def plans() -> dict[Cloud, Plan]:
    return {cloud: baseline_plan(cloud) for cloud in ("aws", "gcp", "azure")}


def policies(plan: Plan, name: str) -> dict[str, dict[str, Any]]:
    """namespace -> the spec of its NetworkPolicy called `name`."""
    return {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]
        for r in plan.of_type(NETWORK_POLICY)
        if r.inputs["metadata"]["name"] == name
    }


def ports_to(spec: dict[str, Any], cidr: str) -> set[int]:
    return {
        port["port"]
        for rule in spec.get("egress", [])
        if {"ipBlock": {"cidr": cidr}} in rule.get("to", [])
        for port in rule.get("ports", [])
    }


def test_every_namespace_denies_both_ways_by_default_and_allows_dns(plans: dict[Cloud, Plan]) -> None:
    for plan in plans.values():
        assert isolated_namespaces(every(plan, NETWORK_POLICY)) == {*NAMESPACES, "kyverno"}
        allowed = policies(plan, "mlplatform-allow")
        assert set(allowed) == {*NAMESPACES, "kyverno"}
        for namespace, spec in allowed.items():
            if namespace != "monitoring":  # the scraper may reach anything (network_policies.py)
                assert spec["egress"][0] == DNS_RULE, namespace


def test_one_policy_is_a_namespaces_default_deny_and_its_allows(plans: dict[Cloud, Plan]) -> None:
    """The allows select every pod both ways, so they deny whatever they do not list; a separate default-deny stays
    only where the allows leave some pods out (monitoring's central Prometheus, fenced by its own policy)."""
    for plan in plans.values():
        allowed = policies(plan, "mlplatform-allow")
        denied = policies(plan, "default-deny")
        assert set(denied) == {"monitoring"}
        assert denied["monitoring"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert allowed["monitoring"]["podSelector"] != {}
        for namespace, spec in allowed.items():
            if namespace != "monitoring":
                assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress", "Egress"], namespace
                assert "ingress" in spec and "egress" in spec, namespace  # an empty list admits nothing


def test_only_the_gateway_is_open_to_the_internet_for_traffic(plans: dict[Cloud, Plan]) -> None:
    allowed = policies(plans["aws"], "mlplatform-allow")
    open_ports = {
        namespace: {p["port"] for rule in spec["ingress"] if {"ipBlock": {"cidr": "0.0.0.0/0"}} in rule["from"]
                    for p in rule["ports"]}
        for namespace, spec in allowed.items()
    }  # fmt: skip
    assert open_ports["istio-ingress"] == {80, 443, 15021}
    assert open_ports["serving"] == set()  # per-model policies admit the gateway and Prometheus only
    assert open_ports["istio-system"] == {15017}  # the API server calls the injection webhook


def test_only_gke_pods_may_reach_the_metadata_server(plans: dict[Cloud, Plan]) -> None:
    """GKE's Workload Identity serves tokens there; elsewhere the node's metadata is off limits (HTTPS only)."""
    gke = policies(plans["gcp"], "mlplatform-allow")["serving"]
    assert ports_to(gke, "169.254.169.254/32") == {80, 8080}  # Dataplane V2's metadata ports
    for cloud in ("aws", "azure"):
        for namespace, spec in policies(plans[cloud], "mlplatform-allow").items():
            if namespace == "monitoring":
                continue
            assert ports_to(spec, "169.254.169.254/32") == set(), (cloud, namespace)
            assert ports_to(spec, "0.0.0.0/0") <= {443, 53}, (cloud, namespace)


def test_a_namespace_without_a_fence_is_refused() -> None:
    with pytest.raises(Exception, match="no network fence for namespace"):
        baseline_plan("aws", namespaces={**NAMESPACES, "team-a": "restricted"})


def cluster_policies(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(CLUSTER_POLICY)}


def test_kyverno_enforces_in_prod_and_audits_in_dev(plans: dict[Cloud, Plan]) -> None:
    dev = cluster_policies(baseline_plan("aws", enforce=False))
    prod = cluster_policies(plans["aws"])
    for found, action in ((prod, "Enforce"), (dev, "Audit")):
        rules = [rule for spec in found.values() for rule in spec["rules"]]
        assert {rule["validate"]["failureAction"] for rule in nonempty(rules, "rule")} == {action}


def test_pod_security_rules_follow_each_namespace_level(plans: dict[Cloud, Plan]) -> None:
    rules = cluster_policies(plans["gcp"])["mlplatform-pod-security"]["rules"]
    matched = {
        rule["validate"]["podSecurity"]["level"]: rule["match"]["any"][0]["resources"]["namespaces"] for rule in rules
    }
    assert matched == {
        "baseline": ["keda", "kyverno"],
        "restricted": ["istio-ingress", "istio-system", "serving"],
    }


def _admitted(pattern: str, image: str) -> bool:
    """Kyverno's pattern semantics for a string: `|` separates alternatives, `*` and `?` are wildcards."""
    return any(fnmatch.fnmatchcase(image, alternative.strip()) for alternative in pattern.split("|"))


def test_images_come_from_the_platform_or_upstream_registries_or_by_digest(plans: dict[Cloud, Plan]) -> None:
    spec = cluster_policies(plans["aws"])["mlplatform-image-sources"]
    # Pods only: Istio's gateway Deployment says `image: auto` until the injector fills it in on the Pod.
    (policy,) = [
        r for r in plans["aws"].of_type(CLUSTER_POLICY) if r.inputs["metadata"]["name"] == "mlplatform-image-sources"
    ]
    assert policy.inputs["metadata"]["annotations"] == {"pod-policies.kyverno.io/autogen-controllers": "none"}
    pattern = spec["rules"][0]["validate"]["pattern"]["spec"]["containers"][0]["image"]
    assert _admitted(pattern, f"{PLATFORM}/fraud-detection:1.4")
    assert _admitted(pattern, "nvcr.io/nvidia/tritonserver:26.05-py3")
    assert _admitted(pattern, "rclone/rclone:1.75.0@sha256:b06aed988cf5967de7c25be5925240983981c757f4ed1ac9d2fa659")
    assert not _admitted(pattern, "evil.example.com/miner:latest")
    assert not _admitted(pattern, "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplatform/prod/other:1")
    fields = spec["rules"][0]["validate"]["pattern"]["spec"]
    assert set(fields) == {"containers", "=(initContainers)", "=(ephemeralContainers)"}


def test_cluster_policies_are_valid_against_kyvernos_crd(plans: dict[Cloud, Plan]) -> None:
    objects = [m for m in k8s_schemas.manifests(plans["aws"]) if m["kind"] == "ClusterPolicy"]
    assert len(objects) == 2 and k8s_schemas.custom_errors(objects) == []
    broken = copy.deepcopy(objects[0])
    broken["spec"]["rules"][0]["validate"]["failureAction"] = "Deny"
    assert len(k8s_schemas.custom_errors([broken])) == 1


def test_kyverno_supports_the_default_kubernetes_minor() -> None:
    """Kyverno 1.19 supports 1.33 to 1.35 (kyverno.io compatibility matrix, read 2026-12): moving the clusters' minor
    past that needs a newer Kyverno first."""
    assert kyverno_module.APP_VERSION == "v1.19.0" and kyverno_module.VERSION == "3.9.0"
    assert DEFAULT_VERSION in kyverno_module.SUPPORTED_MINORS


# --- the prod plan: every cluster ----------------------------------------------------------------------------------


def clusters(plan: Plan) -> dict[str, list[PlannedResource]]:
    """The kubernetes provider (one per cluster) -> the Kubernetes objects made through it."""
    found: dict[str, list[PlannedResource]] = {}
    for resource in plan.resources:
        if (
            resource.type.startswith("kubernetes:")
            and resource.provider
            and resource.type != "pulumi:providers:kubernetes"
        ):
            found.setdefault(resource.provider, []).append(resource)
    return found


def test_every_namespace_of_every_cluster_is_fenced(prod_plan: Plan) -> None:
    for provider, objects in nonempty(list(clusters(prod_plan).items()), "cluster"):
        made = {r.inputs["metadata"]["name"] for r in objects if r.type == "kubernetes:core/v1:Namespace"}
        denied = isolated_namespaces([r for r in objects if r.type == NETWORK_POLICY])
        assert made and made == denied, provider


def test_every_cluster_runs_kyverno_enforcing_in_prod_and_auditing_in_dev(prod_plan: Plan, dev_plan: Plan) -> None:
    for plan, action in ((prod_plan, "Enforce"), (dev_plan, "Audit")):
        per_cluster = clusters(plan)
        releases = [
            r
            for objects in per_cluster.values()
            for r in objects
            if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["chart"] == "kyverno"
        ]
        assert len(releases) == len(plan.outputs["targets"])
        assert {r.inputs["version"] for r in releases} == {kyverno_module.VERSION}
        actions = {
            rule["validate"]["failureAction"] for r in every(plan, CLUSTER_POLICY) for rule in r.inputs["spec"]["rules"]
        }
        assert actions == {action}


def _istiod_values(plan: Plan) -> list[dict[str, Any]]:
    found = [r.inputs["values"] for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "istiod"]
    return nonempty(found, "istiod release")


def test_meshed_pods_need_no_net_admin_and_reach_only_declared_hosts(prod_plan: Plan) -> None:
    for values in _istiod_values(prod_plan):
        assert values["pilot"]["cni"]["enabled"] is True
        assert values["meshConfig"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    cni = [r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "cni"]
    assert len(cni) == len(prod_plan.outputs["targets"])
    gke = [r for r in cni if prod_plan.outputs["targets"][prod_plan.target_of(r)]["cloud"] == "gcp"]
    assert gke and all(r.inputs["values"]["global"]["platform"] == "gke" for r in gke)


def _hosts_by_target(plan: Plan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in every(plan, SERVICE_ENTRY):
        target = plan.target_of(entry)
        assert target is not None and entry.inputs["metadata"]["namespace"] == "serving"
        assert entry.inputs["spec"]["exportTo"] == ["."]
        found.setdefault(target, []).extend(entry.inputs["spec"]["hosts"])
    return found


def test_each_model_server_may_reach_its_own_bucket(prod_plan: Plan) -> None:
    """The bucket Triton reads, as its SDK names the host (virtual-hosted S3, GCS's JSON API, Blob Storage), is
    declared for the sidecar; REGISTRY_ONLY would answer 502 otherwise."""
    hosts = _hosts_by_target(prod_plan)
    for target, uri in prod_plan.outputs["servingUris"].items():
        region = prod_plan.outputs["targets"][target]["region"]
        scheme, _, rest = uri.partition("://")
        bucket_host = {
            "s3": f"{rest.split('/')[0]}.s3.{region}.amazonaws.com",
            "gs": "storage.googleapis.com",
            "as": f"{rest.split('/')[0]}.blob.core.windows.net",
        }[scheme]
        assert any(fnmatch.fnmatchcase(bucket_host, host) for host in hosts[target]), (target, bucket_host)


def test_eks_nodes_keep_pods_off_the_instance_metadata_service(prod_plan: Plan) -> None:
    """IMDSv2 with a hop limit of 1 on every node group's template; the root volume size moves into it."""
    templates = {r.urn: r for r in prod_plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    for group in every(prod_plan, "eks:index:ManagedNodeGroup"):
        assert "diskSize" not in group.inputs, group.urn  # EKS refuses it beside a launch template
        assert set(group.inputs["launchTemplate"]) == {"id", "version"}
        used = [templates[urn] for urn in group.dependencies if urn in templates]
        assert len(used) == 1, group.urn
        assert used[0].inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
        }
    gpu = [t for t in templates.values() if "blockDeviceMappings" in t.inputs]
    assert nonempty(gpu, "GPU template")[0].inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 100


def test_gke_nodes_serve_workload_identity_not_the_node_metadata(prod_plan: Plan) -> None:
    pools = every(prod_plan, "gcp:container/nodePool:NodePool")
    for pool in pools:
        assert pool.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, pool.urn


def test_every_cluster_enforces_network_policy(prod_plan: Plan) -> None:
    for cluster in every(prod_plan, "eks:index:Cluster"):
        assert cluster.inputs["vpcCniOptions"]["enableNetworkPolicy"] is True
    for cluster in every(prod_plan, "gcp:container/cluster:Cluster"):
        assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    for cluster in every(prod_plan, "azure-native:containerservice:ManagedCluster"):
        assert cluster.inputs["networkProfile"]["networkPolicy"] == "cilium"


def test_the_baseline_waits_for_the_namespaces_it_fences(prod_plan: Plan) -> None:
    namespaces = {
        (r.provider, r.inputs["metadata"]["name"]): r.urn for r in prod_plan.of_type("kubernetes:core/v1:Namespace")
    }
    for policy in every(prod_plan, NETWORK_POLICY):
        key = (policy.provider, policy.inputs["metadata"]["namespace"])
        assert key in namespaces, policy.urn
