"""`mlplatform:mirrorImages`: each target's registry serves the public upstreams its cloud can cache without
credentials as pull-through caches, the nodes may pull through them, and every other upstream stays direct."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pytest
from pulumi_azure_native import resources

from components import images
from components.registry import Registry, RegistryArgs
from components.target import Target
from preflight.plan import Plan
from stacks.config import parse_stack_config
from tests.helpers import program_plan, stack_plan

UPSTREAMS = ("docker.io", "ghcr.io", "nvcr.io", "quay.io", "reg.kyverno.io", "registry.k8s.io")
ACCOUNT = "123456789012"  # the mock's caller identity
NODE_ROLE = "arn:aws:iam::123456789012:role/gpu-nodes-0000000"
RCLONE_PIN = ":1.75.0@sha256:b06aed988cf5967de7c25be5925240983981c757f4ed1ac9d2fa659d51d60548"


def plan_for(cloud: str, mirror_upstreams: tuple[str, ...]) -> Plan:
    def program() -> None:
        if cloud == "aws":
            target = Target("t", "aws", "eu-west-1", aws.Provider("t", region="eu-west-1"))
            puller = NODE_ROLE
        elif cloud == "gcp":
            provider = gcp.Provider("t", project="p-1", region="us-central1")
            target = Target("t", "gcp", "us-central1", provider, gcp_project="p-1")
            puller = "nodes@p-1.iam.gserviceaccount.com"
        else:
            provider = azure_native.Provider("t", location="westeurope")
            group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
            target = Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)
            puller = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
        args = RegistryArgs(target=target, puller=pulumi.Output.from_input(puller), mirror_upstreams=mirror_upstreams)
        registry = Registry("images", args)
        pulumi.export("mirrors", dict(registry.mirrors))

    return program_plan(program)


def test_the_platform_mirrors_every_upstream_its_images_come_from() -> None:
    assert images.upstreams() == UPSTREAMS


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_off_by_default_nothing_is_mirrored(cloud: str) -> None:
    plan = plan_for(cloud, ())
    assert plan.outputs["mirrors"] == {}
    for kind in (
        "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
        "azure-native:containerregistry:CacheRule",
    ):
        assert plan.of_type(kind) == []
    assert all(
        r.inputs.get("mode") != "REMOTE_REPOSITORY" for r in plan.of_type("gcp:artifactregistry/repository:Repository")
    )


def test_ecr_caches_quay_and_the_kubernetes_registry_and_the_nodes_may_import() -> None:
    plan = plan_for("aws", UPSTREAMS)
    rules = {
        r.inputs["upstreamRegistryUrl"]: r.inputs["ecrRepositoryPrefix"]
        for r in plan.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    }
    # Docker Hub and ghcr.io need a Secrets Manager login; nvcr.io and reg.kyverno.io are no ECR upstreams.
    assert set(rules) == {"quay.io", "registry.k8s.io"}
    assert all(len(prefix) <= 30 and prefix.startswith("mlp-") for prefix in rules.values())
    mirrors = plan.outputs["mirrors"]
    assert mirrors == {host: f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{rules[host]}" for host in rules}
    grant = next(r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "images-mirror-pull")
    assert grant.inputs["role"] == "gpu-nodes-0000000"
    statement = json.loads(grant.inputs["policy"])["Statement"][0]
    assert set(statement["Action"]) == {"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{prefix}/*" for prefix in rules.values()
    )


def test_artifact_registry_has_a_remote_repository_per_upstream_readable_by_the_nodes() -> None:
    plan = plan_for("gcp", UPSTREAMS)
    remotes = [r for r in plan.of_type("gcp:artifactregistry/repository:Repository") if r.inputs.get("mode")]
    upstream: dict[str, Any] = {r.inputs["remoteRepositoryConfig"]["description"]: r for r in remotes}
    assert set(upstream) == set(UPSTREAMS)
    assert {r.inputs["mode"] for r in remotes} == {"REMOTE_REPOSITORY"}
    assert {r.inputs["format"] for r in remotes} == {"DOCKER"}
    docker_hub = upstream["docker.io"].inputs["remoteRepositoryConfig"]["dockerRepository"]
    assert docker_hub == {"publicRepository": "DOCKER_HUB"}
    quay = upstream["quay.io"].inputs["remoteRepositoryConfig"]["dockerRepository"]
    assert quay == {"customRepository": {"uri": "https://quay.io"}}
    grants = [r for r in plan.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")]
    assert len(grants) == len(UPSTREAMS) + 1  # the registry's own repository too
    assert {g.inputs["role"] for g in grants} == {"roles/artifactregistry.reader"}
    mirrors = plan.outputs["mirrors"]
    assert set(mirrors) == set(UPSTREAMS)
    assert mirrors["nvcr.io"] == f"us-central1-docker.pkg.dev/p-1/{upstream['nvcr.io'].inputs['repositoryId']}"


def test_acr_caches_quay_k8s_and_ghcr_by_wildcard_rules() -> None:
    plan = plan_for("azure", UPSTREAMS)
    rules = {
        r.inputs["sourceRepository"]: r.inputs["targetRepository"]
        for r in plan.of_type("azure-native:containerregistry:CacheRule")
    }
    # Docker Hub takes authenticated pulls only; nvcr.io and reg.kyverno.io are not ACR upstreams.
    assert rules == {"quay.io/*": "quay/*", "registry.k8s.io/*": "k8s/*", "ghcr.io/*": "ghcr/*"}
    mirrors = plan.outputs["mirrors"]
    assert set(mirrors) == {"quay.io", "registry.k8s.io", "ghcr.io"}
    assert all(prefix.endswith(f"/{rules[f'{host}/*'].removesuffix('/*')}") for host, prefix in mirrors.items())


def test_the_stack_config_switch_defaults_off_and_reads_a_boolean() -> None:
    base = {
        "mlplatform:environment": "dev",
        "mlplatform:owner": "ml-platform",
        "mlplatform:costCenter": "ml-serving",
        "mlplatform:targets": json.dumps([{"cloud": "aws", "region": "us-east-1"}]),
    }
    assert parse_stack_config(base, stack="test").mirror_images is False
    assert parse_stack_config({**base, "mlplatform:mirrorImages": "true"}, stack="test").mirror_images is True


MODEL = {"name": "fraud-detection", "accelerator": "T4", "stable": {"name": "v1", "path": "fraud-detection/v1"}}


@pytest.fixture(scope="module")
def mirrored() -> Plan:
    """The real program, one GCP and one Azure target, with mirrorImages on."""
    targets = [
        {"cloud": "gcp", "region": "us-central1", "project": "ml-mirror-123"},
        {"cloud": "azure", "region": "swedencentral"},
    ]
    return stack_plan(targets, mirrorImages=True, models=[MODEL], auth={"enabled": False})


def _pods(plan: Plan, cloud: str) -> list[dict[str, Any]]:
    return [
        r.inputs["spec"]["template"]["spec"]
        for r in plan.of_type("kubernetes:apps/v1:Deployment")
        if r.name.startswith(cloud) and "serving-" in r.name
    ]


def _release(plan: Plan, cloud: str, chart: str) -> dict[str, Any]:
    (found,) = [
        r.inputs
        for r in plan.of_type("kubernetes:helm.sh/v3:Release")
        if r.name.startswith(cloud) and r.inputs["chart"] == chart
    ]
    return found


def test_a_mirrored_gcp_target_pulls_triton_rclone_and_chart_images_through_artifact_registry(mirrored: Plan) -> None:
    prefix = "us-central1-docker.pkg.dev/ml-mirror-123/"
    pods = _pods(mirrored, "gcp")
    assert pods
    for pod in pods:
        assert pod["containers"][0]["image"].startswith(prefix)
        assert pod["containers"][0]["image"].endswith("/nvidia/tritonserver:26.05-py3")
        rclone = {c["image"] for c in pod["initContainers"]}
        assert len(rclone) == 1
        assert all(i.startswith(prefix) and i.endswith("/rclone/rclone" + RCLONE_PIN) for i in rclone)
    assert _release(mirrored, "gcp", "istiod")["values"]["global"]["hub"].startswith(prefix)
    monitoring = _release(mirrored, "gcp", "kube-prometheus-stack")["values"]
    assert monitoring["prometheus"]["prometheusSpec"]["image"]["registry"].startswith(prefix)
    assert monitoring["prometheus"]["prometheusSpec"]["image"]["repository"] == "prometheus/prometheus"


def test_a_mirrored_gcp_target_pulls_the_log_and_trace_charts_images_through_artifact_registry(mirrored: Plan) -> None:
    """The collector (agent and trace gateway), Loki and Tempo: Docker Hub images, through the project's remote."""
    prefix = "us-central1-docker.pkg.dev/ml-mirror-123/"
    releases = {
        (r.inputs["chart"], r.inputs["name"]): r.inputs["values"]
        for r in mirrored.of_type("kubernetes:helm.sh/v3:Release")
        if r.name.startswith("gcp") and r.inputs["chart"] in ("opentelemetry-collector", "loki", "tempo")
    }
    collectors = [values for (chart, _), values in releases.items() if chart == "opentelemetry-collector"]
    assert len(collectors) == 2 and {"loki", "tempo"} <= {chart for chart, _ in releases}
    hubs = {values["image"]["repository"].removesuffix("/otel/opentelemetry-collector-k8s") for values in collectors}
    (loki,) = [values for (chart, _), values in releases.items() if chart == "loki"]
    (tempo,) = [values for (chart, _), values in releases.items() if chart == "tempo"]
    hubs |= {loki["loki"]["image"]["registry"], tempo["tempo"]["registry"]}
    (hub,) = hubs  # one Docker Hub remote for all three charts
    assert hub.startswith(prefix) and "docker-hub" in hub
    assert (loki["loki"]["image"]["repository"], tempo["tempo"]["repository"]) == ("grafana/loki", "grafana/tempo")


def test_a_mirrored_azure_target_keeps_nvcr_and_docker_hub_direct_and_caches_quay(mirrored: Plan) -> None:
    for pod in _pods(mirrored, "azure"):
        assert pod["containers"][0]["image"] == "nvcr.io/nvidia/tritonserver:26.05-py3"
        assert {c["image"] for c in pod["initContainers"]} == {images.image("rclone").ref}
    monitoring = _release(mirrored, "azure", "kube-prometheus-stack")["values"]
    assert monitoring["prometheus"]["prometheusSpec"]["image"]["registry"].endswith(".azurecr.io/quay")
    assert "hub" not in _release(mirrored, "azure", "istiod")["values"].get("global", {})
