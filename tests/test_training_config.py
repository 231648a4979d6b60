"""`mlplatform:trainingPools`: training's own spot pools, parsed as gpuPools are, with training's rules; and the
`trainingOffers` figures the client places jobs by, from the price table."""

from __future__ import annotations

from typing import Any

import pytest

from pricing.table import load_price_table
from stacks.config import ConfigError, StackConfig, parse_stack_config
from stacks.training_config import training_offers
from tests.test_config import GOOD, engine_config

TARGETS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
]


def parse(pools: list[dict[str, Any]], **changes: Any) -> StackConfig:
    values = {**GOOD, "targets": TARGETS, "trainingPools": pools, **changes}
    return parse_stack_config(engine_config(values), stack="test")


def test_training_pools_are_spot_pools_from_zero_with_a_fallback() -> None:
    [pool] = parse([{"name": "l4t", "accelerator": "L4", "maxNodes": 4, "fallbackMaxNodes": 2}]).training.pools
    assert (pool.spot, pool.min_nodes, pool.max_nodes, pool.fallback_name) == (True, 0, 4, "l4tod")
    assert dict(pool.machine_types) == {"aws": ("g6.xlarge",), "gcp": ("g2-standard-4",)}


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ({"name": "t4", "accelerator": "T4"},
         "mlplatform:trainingPools[0].name: 't4' clashes with gpuPools (t4, t4od)"),
        ({"name": "l4t", "accelerator": "L4", "minNodes": 1}, "mlplatform:trainingPools[0].minNodes: training pools"
         " scale from zero, got 1"),
        ({"name": "l4t", "accelerator": "L4", "spot": False, "onDemandReason": "x"},
         "mlplatform:trainingPools[0].spot: training pools are spot"),
        ({"name": "l4t", "accelerator": "L5"}, "mlplatform:trainingPools[0].accelerator: aws offers no L5 machine"),
    ],
)  # fmt: skip
def test_a_bad_training_pool_is_one_line_naming_the_key(pool: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse([pool])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_offers_price_a_gpu_hour_from_the_price_table() -> None:
    training = parse([{"name": "l4t", "accelerator": "L4", "maxNodes": 4, "fallbackMaxNodes": 2}]).training
    offers = training_offers(
        training, [("aws-us-east-1", "aws", "us-east-1"), ("gcp-us-central1", "gcp", "us-central1")], load_price_table()
    )
    # pricing/data/prices.yaml: g6.xlarge (1 L4) $0.8048 on demand, $0.38 spot; g2-standard-4 (1 L4) $0.70683, $0.28184.
    [aws] = offers["aws-us-east-1"]["pools"]
    [gcp] = offers["gcp-us-central1"]["pools"]
    assert (aws["spotPerGpuHour"], aws["onDemandPerGpuHour"], aws["gpusPerNode"]) == (0.38, 0.8048, 1)
    assert (gcp["spotPerGpuHour"], gcp["onDemandPerGpuHour"], gcp["maxNodes"]) == (0.28184, 0.70683, 4)
    assert offers["aws-us-east-1"]["teams"] == {"ml": {"namespace": "train-ml", "queue": "ml"}}  # the one default team
    assert offers["aws-us-east-1"]["serviceAccount"] == "trainer"


def test_no_training_pools_means_no_offers() -> None:
    config = parse_stack_config(engine_config({**GOOD, "targets": TARGETS}), stack="test")
    assert config.training.pools == ()
    assert training_offers(config.training, [("aws-us-east-1", "aws", "us-east-1")], load_price_table()) == {}


def test_each_listed_team_gets_its_namespace_and_queue() -> None:
    training = parse([{"name": "t4t", "accelerator": "T4"}], trainingTeams=["research", "fraud"]).training
    offers = training_offers(training, [("aws-us-east-1", "aws", "us-east-1")], load_price_table())
    assert offers["aws-us-east-1"]["teams"] == {
        "research": {"namespace": "train-research", "queue": "research"},
        "fraud": {"namespace": "train-fraud", "queue": "fraud"},
    }


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        ([], "mlplatform:trainingTeams: must name at least one team"),
        (["Fraud"], "mlplatform:trainingTeams[0]: 'Fraud' must be 1-30 lowercase letters, digits or '-'"),
        (["ml", "ml"], "mlplatform:trainingTeams[1]: 'ml' is listed twice"),
        ({"ml": 1}, "mlplatform:trainingTeams: expected a list"),
    ],
)
def test_a_bad_team_list_is_one_line_naming_the_key(teams: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse([{"name": "t4t", "accelerator": "T4"}], trainingTeams=teams)
    assert str(error.value).startswith(message)
