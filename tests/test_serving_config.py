"""Models as config: weights, canaries, GPUs per replica and floors fail with one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.test_config import GOOD, engine_config

TARGETS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
]
MODEL: dict[str, Any] = {
    "name": "fraud",
    "accelerator": "T4",
    "stable": {"name": "v1", "path": "fraud/v1", "weight": 90},
    "canary": {"name": "v2", "path": "fraud/v2", "weight": 10},
}


def parse(model: dict[str, Any], **changes: Any) -> StackConfig:
    values = {**GOOD, "targets": TARGETS, "models": [model], **changes}
    return parse_stack_config(engine_config(values), stack="test")


def test_prod_defaults_keep_two_replicas_and_an_on_demand_floor() -> None:
    (model,) = parse(MODEL).models
    assert (model.min_replicas, model.on_demand_floor, model.gpus_per_replica) == (2, 1, 1)
    assert model.stable.weight == 90 and model.canary is not None and model.canary.weight == 10


def test_dev_defaults_scale_down_and_have_no_floor() -> None:
    stable_only = {**MODEL, "stable": {"name": "v1", "path": "fraud/v1"}}
    del stable_only["canary"]
    (model,) = parse(stable_only, environment="dev", apiAllowedCidrs=[]).models
    assert (model.min_replicas, model.on_demand_floor) == (1, 0)
    assert model.stable.weight == 100 and model.canary is None


def with_(**changes: Any) -> dict[str, Any]:
    return {**MODEL, **changes}


BAD = [
    (
        with_(canary={"name": "v2", "path": "fraud/v2", "weight": 20}),
        "mlplatform:models[0].canary.weight",
        "add up to 100",
    ),
    ({k: v for k, v in MODEL.items() if k != "stable"}, "mlplatform:models[0].stable", "a canary needs a stable"),
    (with_(gpusPerReplica=2), "mlplatform:models[0].gpusPerReplica", "do not fit the T4 pools on aws"),
    (with_(onDemandFloor=9, maxReplicas=4), "mlplatform:models[0].onDemandFloor", "above maxReplicas"),
    (with_(minReplicas=1), "mlplatform:models[0].minReplicas", "at least 2"),
    (with_(minReplicas=5, maxReplicas=3), "mlplatform:models[0].minReplicas", "above maxReplicas"),
    (with_(accelerator="H100"), "mlplatform:models[0].accelerator", "no GPU pool with H100 on aws"),
    (with_(name="Fraud_Detection"), "mlplatform:models[0].name", "DNS label"),
    (with_(stable={"name": "v1", "path": "../secrets", "weight": 90}), "mlplatform:models[0].stable.path", "relative"),
    (with_(canary={"name": "v1", "path": "x", "weight": 10}), "mlplatform:models[0].canary.name", "clashes"),
    (with_(canary={"name": "v1-floor", "path": "x", "weight": 10}), "mlplatform:models[0].canary.name", "its floor"),
    (with_(replicas=3), "mlplatform:models[0].replicas", "unknown key"),
]


@pytest.mark.parametrize(("model", "key", "problem"), BAD, ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD)])
def test_bad_models_name_the_key(model: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(model)
    assert caught.value.key == key
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_bigger_gpu_machine_takes_more_gpus_per_replica() -> None:
    pools = [{"name": "t4", "accelerator": "T4", "clouds": ["aws"], "machineTypes": {"aws": ["g4dn.12xlarge"]}}]
    config = parse(with_(gpusPerReplica=4), targets=[TARGETS[0]], gpuPools=pools)
    assert config.models[0].gpus_per_replica == 4
