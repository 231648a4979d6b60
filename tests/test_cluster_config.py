"""Cluster and GPU pool config: what a cloud cannot build fails with one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.test_config import GOOD, engine_config

ALL_CLOUDS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
    {"cloud": "azure", "region": "westeurope"},
]


def parse(
    pools: list[dict[str, Any]] | None = None, targets: list[dict[str, Any]] | None = None, **changes: Any
) -> StackConfig:
    values: dict[str, Any] = {**GOOD, "targets": targets or ALL_CLOUDS, **changes}
    if pools is not None:
        values["gpuPools"] = pools
    return parse_stack_config(engine_config(values), stack="test")


def test_defaults_pick_the_smallest_catalogued_machine_per_cloud() -> None:
    config = parse()
    assert config.cluster.kubernetes_version == "1.35"
    pool = config.cluster.gpu_pools[0]
    assert (pool.name, pool.accelerator, pool.spot, pool.min_nodes) == ("t4", "T4", True, 0)
    assert dict(pool.machine_types) == {
        "aws": ("g4dn.xlarge",),
        "gcp": ("n1-standard-4",),
        "azure": ("Standard_NC4as_T4_v3",),
    }
    assert pool.fallback_name == "t4od" and pool.fallback_max_nodes == pool.max_nodes
    assert config.cluster.system_pool.min_nodes == 2  # prod profile


def test_a_pool_limited_to_some_clouds_and_an_azure_price_cap() -> None:
    pools = [
        {"name": "l4", "accelerator": "L4", "clouds": ["aws", "gcp"], "machineTypes": {"aws": ["g6.xlarge"]}},
        {"name": "a10", "accelerator": "A10", "clouds": ["azure"], "spotMaxPrice": 1.2, "maxNodes": 3},
    ]
    l4, a10 = parse(pools).cluster.gpu_pools
    assert l4.clouds == ("aws", "gcp") and l4.machine_types["gcp"] == ("g2-standard-4",)
    assert a10.clouds == ("azure",) and a10.spot_max_price == 1.2


TWO_AWS = [{"cloud": "aws", "region": "us-east-1"}, {"cloud": "aws", "region": "eu-west-1"}, ALL_CLOUDS[1]]


def test_a_pool_limited_to_some_targets_runs_only_there() -> None:
    """A region may lack a GPU its cloud has (eu-west-1 has no G6): the pool leaves that target out."""
    pools = [{"name": "l4", "accelerator": "L4", "targets": ["aws-us-east-1"]}, {"name": "t4", "accelerator": "T4"}]
    l4, t4 = parse(pools, targets=TWO_AWS).cluster.gpu_pools
    assert l4.targets == ("aws-us-east-1",) and l4.clouds == ("aws",) and set(l4.machine_types) == {"aws"}
    assert (l4.runs_on("aws-us-east-1"), l4.runs_on("aws-eu-west-1"), l4.runs_on("gcp-us-central1")) == (
        True,
        False,
        False,
    )
    assert t4.targets == ("aws-us-east-1", "aws-eu-west-1", "gcp-us-central1")


def test_a_model_needs_its_pool_on_every_target() -> None:
    pools = [{"name": "l4", "accelerator": "L4", "targets": ["aws-us-east-1", "gcp-us-central1"]}]
    model = {"name": "m", "accelerator": "L4", "stable": {"name": "v1", "path": "m/v1"}}
    with pytest.raises(ConfigError) as caught:
        parse(pools, targets=TWO_AWS, models=[model])
    assert caught.value.key == "mlplatform:models[0].accelerator" and "aws-eu-west-1" in str(caught.value)


def test_several_alike_machine_types_are_kept_on_aws() -> None:
    pools = [{"name": "t4", "accelerator": "T4", "machineTypes": {"aws": ["g4dn.xlarge", "g4dn.xlarge"]}}]
    assert parse(pools, targets=[ALL_CLOUDS[0]]).cluster.gpu_pools[0].machine_types["aws"] == (
        "g4dn.xlarge",
        "g4dn.xlarge",
    )


BAD = [
    ([{"name": "l4", "accelerator": "L4"}], "mlplatform:gpuPools[0].accelerator", "azure offers no L4"),
    ([{"name": "t4", "accelerator": "T4", "minNodes": 3, "maxNodes": 2}], "mlplatform:gpuPools[0].minNodes", "above"),
    ([{"name": "t4", "accelerator": "T4", "minNodes": -1}], "mlplatform:gpuPools[0].minNodes", "between 0"),
    ([{"name": "t4", "accelerator": "T4", "spotMaxPrice": 0.4}], "mlplatform:gpuPools[0].spotMaxPrice", "only Azure"),
    (
        [{"name": "t4", "accelerator": "T4", "machineTypes": {"aws": []}}],
        "mlplatform:gpuPools[0].machineTypes.aws",
        "at least one",
    ),
    (
        [{"name": "l4", "accelerator": "L4", "clouds": ["aws"], "machineTypes": {"aws": ["g6.xlarge", "g6.2xlarge"]}}],
        "mlplatform:gpuPools[0].machineTypes.aws",
        "g6.xlarge has 4 vCPU, 16 GiB, 1 L4; g6.2xlarge has 8 vCPU, 32 GiB, 1 L4",
    ),
    (
        [{"name": "t4", "accelerator": "T4", "machineTypes": {"gcp": ["n1-standard-4", "n1-standard-8"]}}],
        "mlplatform:gpuPools[0].machineTypes.gcp",
        "one machine type",
    ),
    (
        [{"name": "t4", "accelerator": "T4", "machineTypes": {"aws": ["g5.xlarge"]}}],
        "mlplatform:gpuPools[0].machineTypes.aws[0]",
        "carries A10G",
    ),
    (
        [{"name": "t4", "accelerator": "T4", "machineTypes": {"aws": ["g9.huge"]}}],
        "mlplatform:gpuPools[0].machineTypes.aws[0]",
        "not in the aws machine catalog",
    ),
    ([{"name": "T4-Pool", "accelerator": "T4"}], "mlplatform:gpuPools[0].name", "lowercase"),
    (
        [{"name": "t4", "accelerator": "T4"}, {"name": "t4", "accelerator": "T4"}],
        "mlplatform:gpuPools[1].name",
        "clashes",
    ),
    ([{"name": "t4", "accelerator": "T4", "zone": "a"}], "mlplatform:gpuPools[0].zone", "unknown key"),
    ([{"name": "t4", "accelerator": "T4", "clouds": ["ibm"]}], "mlplatform:gpuPools[0].clouds[0]", "unknown cloud"),
    ([{"name": "t4", "accelerator": "T4", "targets": ["aws-mars-1"]}], "mlplatform:gpuPools[0].targets[0]", "unknown"),
    ([{"name": "t4", "accelerator": "T4", "targets": []}], "mlplatform:gpuPools[0].targets", "at least one"),
    (
        [{"name": "t4", "accelerator": "T4", "clouds": ["gcp"], "targets": ["aws-us-east-1"]}],
        "mlplatform:gpuPools[0].targets[0]",
        "clouds leave out",
    ),
]


@pytest.mark.parametrize(("pools", "key", "problem"), BAD, ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD)])
def test_bad_gpu_pools_name_the_key(pools: list[dict[str, Any]], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(pools)
    assert caught.value.key == key
    assert problem in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "key", "problem"),
    [
        ({"apiAllowedCidrs": []}, "mlplatform:apiAllowedCidrs", "prod must list"),
        ({"apiAllowedCidrs": ["0.0.0.0/0"]}, "mlplatform:apiAllowedCidrs[0]", "whole internet"),
        ({"apiAllowedCidrs": ["10.0.0.300/8"]}, "mlplatform:apiAllowedCidrs[0]", "not a CIDR"),
        ({"kubernetesVersion": "latest"}, "mlplatform:kubernetesVersion", "minor version"),
        ({"systemPool": {"minNodes": 0}}, "mlplatform:systemPool.minNodes", "between 1"),
        ({"systemPool": {"machineTypes": {"aws": "m1.tiny"}}}, "mlplatform:systemPool.machineTypes.aws", "catalog"),
    ],
)
def test_bad_cluster_settings_name_the_key(changes: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert caught.value.key == key and problem in str(caught.value)


def test_dev_may_leave_the_api_open() -> None:
    config = parse(environment="dev", apiAllowedCidrs=[])
    assert config.cluster.api_allowed_cidrs == ()
    assert config.cluster.system_pool.min_nodes == 1
