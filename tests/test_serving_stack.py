"""ServingStack in the shipped stacks: one per target, the floor in prod, every object valid."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest

from components.serving_stack.contract import NAMESPACE, ServingStackArgs, TlsSettings
from components.serving_stack.triton import LABEL_VERSION
from preflight.plan import Plan
from tests import k8s_schemas

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def deployments(plan: Plan, target: str) -> dict[str, dict[str, Any]]:
    """The model Deployments of a target: those in the serving namespace whose pods carry a model version (not the
    model registry's, components/model_registry, nor the warm spares' placeholders)."""
    return {
        d.inputs["metadata"]["name"]: d.inputs
        for d in plan.of_type(DEPLOYMENT)
        if plan.target_of(d) == target
        and d.inputs["metadata"].get("namespace") == NAMESPACE
        and LABEL_VERSION in d.inputs["spec"]["template"]["metadata"]["labels"]
    }


def test_one_serving_stack_and_endpoint_per_target(stack_plan: Plan) -> None:
    targets = sorted(stack_plan.outputs["targets"])
    stacks = stack_plan.of_type("mlplatform:serving:ServingStack")
    assert sorted(stack_plan.target_of(s) or "" for s in stacks) == targets
    for name, endpoint in stack_plan.outputs["endpoints"].items():
        assert endpoint["address"] and endpoint["healthPath"] == "/v2/health/ready"
        assert endpoint["cloud"] == stack_plan.outputs["targets"][name]["cloud"]


def test_triton_reads_its_own_targets_bucket(stack_plan: Plan) -> None:
    for target, serving_uri in stack_plan.outputs["servingUris"].items():
        for name, deployment in deployments(stack_plan, target).items():
            (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "triton"]
            repository = [a for a in container["args"] if a.startswith("--model-repository=")]
            assert repository and repository[0].startswith(f"--model-repository={serving_uri}/"), name


def test_prod_has_a_canary_and_an_on_demand_floor_everywhere(prod_plan: Plan) -> None:
    for target in prod_plan.outputs["targets"]:
        names = set(deployments(prod_plan, target))
        assert names == {"fraud-detection-v1", "fraud-detection-v2", "fraud-detection-v1-floor"}, target
        floor = deployments(prod_plan, target)["fraud-detection-v1-floor"]
        terms = floor["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        expressions = [e for term in terms for e in term["matchExpressions"]]
        assert {"key": "mlplatform.io/capacity", "operator": "In", "values": ["on-demand"]} in expressions


def test_dev_has_no_floor(dev_plan: Plan) -> None:
    for target in dev_plan.outputs["targets"]:
        assert set(deployments(dev_plan, target)) == {"fraud-detection-v1"}


def test_every_builtin_kubernetes_object_is_valid_for_1_33(stack_plan: Plan) -> None:
    errors, custom = k8s_schemas.split(k8s_schemas.manifests(stack_plan))
    assert not errors
    assert custom, "the stack makes custom resources (routes, ScaledObjects, PodMonitors)"


def test_every_custom_resource_is_valid_against_its_crd(stack_plan: Plan) -> None:
    missing = k8s_schemas.custom_validator_missing()
    if missing:
        pytest.fail(missing)
    _, custom = k8s_schemas.split(k8s_schemas.manifests(stack_plan))
    # GKE's ComputeClass (the GpuCluster's, not the serving stack's) has no schema package on a
    # registry; its fields were checked by hand against its CRD (docs/ARCHITECTURE.md).
    serving = [m for m in custom if not m["apiVersion"].startswith("cloud.google.com/")]
    assert {m["kind"] for m in serving} >= {"VirtualService", "DestinationRule", "ScaledObject", "PodMonitor"}
    assert not k8s_schemas.custom_errors(serving)


def test_the_args_type_hints_resolve_so_tools_can_read_the_contract() -> None:
    """Every field of ServingStackArgs names a type importable from the contract (none hidden behind
    TYPE_CHECKING in a module that creates resources), so typing.get_type_hints, and the tools built on it,
    read it."""
    hints = get_type_hints(ServingStackArgs)
    assert hints["tls"] == TlsSettings | None
    assert hints["drain_seconds"] is int
