"""Warm spares (`warmSpares` on a GPU pool): spot nodes kept Ready with the Triton image pulled, so the first replicas
of a scale-up start in the model's copy and load alone; the config, the cold start, the plan per cloud, the view."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.cold_start import COLD_START_ANNOTATION, NEW_NODE_ANNOTATION, cold_start
from components.serving_stack.warm_spares import PRIORITY, PRIORITY_CLASS
from preflight.cli import main
from preflight.plan import Plan
from stacks.config import parse_stack_config
from stacks.validate import ConfigError

BASE = {
    "mlplatform:environment": "dev",
    "mlplatform:owner": "ml-platform",
    "mlplatform:costCenter": "ml-serving",
    "mlplatform:targets": json.dumps([{"cloud": "aws", "region": "us-east-1"}]),
}
POOL = {"name": "t4", "accelerator": "T4", "minNodes": 1, "maxNodes": 3}


def pools_config(**pool: Any) -> dict[str, str]:
    return {**BASE, "mlplatform:gpuPools": json.dumps([{**POOL, **pool}])}


def test_a_start_on_a_warm_spare_is_the_model_copy_and_load_alone() -> None:
    """0 s node, driver and image on the spare; 1 GiB over 25 Gbps (0.34 s) and 19 s load: 20 s on AWS's g4dn."""
    start = cold_start("aws", "g4dn.xlarge", 1.0, warm_spare=True)
    assert [p.seconds for p in start.phases[:3]] == [0, 0, 0]
    assert start.total_seconds == 20
    assert {f.key for p in start.phases[:3] for f in p.facts} == {"warm-spare-seconds"}
    assert start.phase("model load").seconds == cold_start("aws", "g4dn.xlarge", 1.0).phase("model load").seconds


def test_warm_spares_are_part_of_the_pools_minimum() -> None:
    (pool,) = parse_stack_config(pools_config(warmSpares=2), stack="t").cluster.gpu_pools
    assert pool.warm_spares == 2 and pool.min_nodes == 1
    (plain,) = parse_stack_config(pools_config(), stack="t").cluster.gpu_pools
    assert plain.warm_spares == 0


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ({"warmSpares": 3}, r"gpuPools\[0\]\.warmSpares: minNodes 1 plus 3 warm spare\(s\) is above maxNodes \(3\)"),
        ({"warmSpares": -1}, r"gpuPools\[0\]\.warmSpares"),
        ({"warmSpares": "one"}, r"gpuPools\[0\]\.warmSpares"),
        ({"warmSpares": 1, "spot": False, "onDemandReason": "latency"}, r"warmSpares: warm spares are spot nodes"),
    ],
)
def test_bad_warm_spares_are_refused_in_one_line(pool: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_stack_config(pools_config(**pool), stack="t")
    assert "\n" not in str(raised.value)


def test_training_pools_take_no_warm_spares() -> None:
    training = [{"name": "t4t", "accelerator": "T4", "maxNodes": 2, "warmSpares": 1}]
    with pytest.raises(ConfigError, match=r"trainingPools\[0\]\.warmSpares: not for training pools"):
        parse_stack_config({**pools_config(), "mlplatform:trainingPools": json.dumps(training)}, stack="t")


def _node_minimum(resource: Any) -> int:
    inputs = resource.inputs
    if "scalingConfig" in inputs:  # EKS managed node group
        return int(inputs["scalingConfig"]["minSize"])
    if "autoscaling" in inputs:  # GKE node pool
        return int(inputs["autoscaling"]["totalMinNodeCount"])
    return int(inputs["minCount"])  # AKS agent pool


POOL_TYPES = (
    "eks:index:ManagedNodeGroup",
    "gcp:container/nodePool:NodePool",
    "azure-native:containerservice:AgentPool",
)


def test_prod_keeps_one_warm_spare_per_target_on_every_cloud(prod_plan: Plan) -> None:
    """prod's t4 pool: minNodes 1 plus warmSpares 1 on each of its four targets (EKS, GKE, AKS), one placeholder
    Deployment each holding a node's GPU with the Triton image, below every model pod's priority."""
    t4 = [r for t in POOL_TYPES for r in prod_plan.of_type(t) if r.name.endswith("-t4")]
    assert {r.name.rsplit("-t4", 1)[0] for r in t4} == {
        "aws-us-east-1",
        "aws-eu-west-1",
        "gcp-us-central1",
        "azure-swedencentral",
    }
    assert {r.name: _node_minimum(r) for r in t4} == {r.name: 2 for r in t4}
    classes = prod_plan.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    spares = [r for r in classes if r.name.endswith("-warm-spare-priority")]
    assert len(spares) == 4 and {(r.inputs["value"], r.inputs["preemptionPolicy"]) for r in spares} == {
        (PRIORITY, "Never")
    }
    placeholders = [r for r in prod_plan.of_type("kubernetes:apps/v1:Deployment") if "-warm-spare-" in r.name]
    assert len(placeholders) == 4
    for placeholder in placeholders:
        assert placeholder.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
        spec = placeholder.inputs["spec"]
        pod = spec["template"]["spec"]
        assert spec["replicas"] == 1 and pod["priorityClassName"] == PRIORITY_CLASS
        assert pod["nodeSelector"]["mlplatform.io/pool"] == "t4"
        assert pod["nodeSelector"]["mlplatform.io/capacity"] == "spot"
        (container,) = pod["containers"]
        assert "tritonserver" in str(container["image"])
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_prods_model_deployments_carry_the_warm_figure(prod_plan: Plan) -> None:
    served = [r for r in prod_plan.of_type("kubernetes:apps/v1:Deployment") if "-serving-fraud-detection-" in r.name]
    assert served
    figures = {r.inputs["metadata"]["annotations"][COLD_START_ANNOTATION] for r in served}
    assert figures == {"20", "21"}  # 20 s on AWS's g4dn (25 Gbps), 21 s on GKE's n1 and AKS's NC4as (8 Gbps)
    # beyond the spares, on a new node: what the first rollout waits for (the timeline takes this one)
    assert {r.inputs["metadata"]["annotations"][NEW_NODE_ANNOTATION] for r in served} == {"429", "430", "440"}


def test_preflight_coldstart_prod_is_within_the_default_budget_and_names_what_a_new_node_costs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["coldstart", "--stack", "prod", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["budgetSeconds"] == 180 and document["overBudget"] == []
    by_cloud = {r["target"].split("-")[0]: r for r in document["replicas"]}
    assert {cloud: r["totalSeconds"] for cloud, r in by_cloud.items()} == {"aws": 20, "gcp": 21, "azure": 21}
    assert {cloud: r["newNode"]["totalSeconds"] for cloud, r in by_cloud.items()} == {
        "aws": 429,
        "gcp": 440,
        "azure": 430,
    }
    assert all(r["warmSpares"] == 1 for r in document["replicas"])
    assert main(["coldstart", "--stack", "prod"]) == 0
    text = capsys.readouterr().out
    assert "first 1 replica(s) on warm spares" in text
    assert "node 120 s and driver 40 s are cut by no cloud option, only by a warm spare" in text
    assert "image 259.2 s: mlplatform:imageCache.gkeDiskImage caches it" in text
    assert "image 259.2 s: mlplatform:imageCache.eksSnapshots caches it" in text
    assert "image 259.2 s: no cache on azure" in text
