"""Routing modes and promotion bounds as stack config: the stack's default, a model's override key by key, and bad
input as one line naming the key (finite numbers, steps increasing to 100, a window both Prometheus versions parse)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from preflight.plan import Plan
from stacks.config import ConfigError
from stacks.promotion_config import PromotionConfig, parse_promotion
from tests.test_serving_config import MODEL, parse, with_


def test_every_model_gets_the_stacks_bounds_unless_it_overrides_a_key() -> None:
    (plain,) = parse(MODEL).models
    assert plain.routing == "canary" and plain.promotion == PromotionConfig()
    stack_wide = {"maxErrorRatio": 0.02, "window": "5m", "steps": [20, 100]}
    own = with_(routing="ab", promotion={"maxP99Seconds": 0.25, "window": "2m"})
    (model,) = parse(own, promotion=stack_wide).models
    assert model.routing == "ab"
    assert model.promotion == PromotionConfig(0.02, 0.25, 100, "2m", (20, 100))
    assert model.promotion.exported() == {
        "maxErrorRatio": 0.02,
        "maxP99Seconds": 0.25,
        "minRequests": 100,
        "window": "2m",
        "steps": [20, 100],
    }


def test_blue_green_starts_green_at_zero_and_switches_to_all() -> None:
    idle = with_(routing="blueGreen", stable={"name": "v1", "path": "f/v1", "weight": 100}, canary=green(0))
    assert parse(idle).models[0].routing == "blueGreen"
    switched = with_(routing="blueGreen", stable={"name": "v1", "path": "f/v1", "weight": 0}, canary=green(100))
    assert parse(switched).models[0].canary is not None


def green(weight: int) -> dict[str, Any]:
    return {"name": "v2", "path": "f/v2", "weight": weight}


M = "mlplatform:models[0]"
BAD: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
    (with_(routing="shadow"), {}, f"{M}.routing", "not a routing mode"),
    (with_(routing="blueGreen"), {}, f"{M}.canary.weight", "0 or 100, got 10"),
    (with_(promotion={"maxErrorRatio": 1.5}), {}, f"{M}.promotion.maxErrorRatio", "at most 1"),
    (with_(promotion={"maxP99Seconds": 0}), {}, f"{M}.promotion.maxP99Seconds", "above 0"),
    (with_(promotion={"minRequests": 0.5}), {}, f"{M}.promotion.minRequests", "whole number"),
    (with_(promotion={"window": "10 minutes"}), {}, f"{M}.promotion.window", "one unit"),
    (with_(promotion={"window": "2d"}), {}, f"{M}.promotion.window", "one unit"),
    (with_(promotion={"window": "25h"}), {}, f"{M}.promotion.window", "longer than 24h"),
    (with_(promotion={"steps": [10, 50]}), {}, f"{M}.promotion.steps", "last weight must be 100"),
    (with_(promotion={"steps": [50, 25, 100]}), {}, f"{M}.promotion.steps[1]", "must increase"),
    (with_(promotion={"steps": []}), {}, f"{M}.promotion.steps", "ending at 100"),
    (with_(promotion={"steps": [0, 100]}), {}, f"{M}.promotion.steps[0]", "between 1 and 100"),
    (with_(promotion={"step": [100]}), {}, f"{M}.promotion.step", "unknown key"),
    (MODEL, {"promotion": {"window": "soon"}}, "mlplatform:promotion.window", "one unit"),
    (MODEL, {"promotion": [1]}, "mlplatform:promotion", "expected a map"),
]


@pytest.mark.parametrize(("model", "stack", "key", "problem"), BAD, ids=[f"{i}-{c[2]}" for i, c in enumerate(BAD)])
def test_bad_routing_or_bounds_name_the_key(
    model: dict[str, Any], stack: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(model, **stack)
    assert caught.value.key == key
    assert problem in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "problem"), [("maxErrorRatio", math.nan, "NaN"), ("maxP99Seconds", math.inf, "finite")]
)
def test_numbers_are_finite(field: str, value: float, problem: str) -> None:
    """The engine's JSON refuses NaN before this; YAML's .nan reaches here from other readers."""
    with pytest.raises(ConfigError) as caught:
        parse_promotion("mlplatform:promotion", {field: value}, PromotionConfig())
    assert caught.value.key == f"mlplatform:promotion.{field}" and problem in str(caught.value)


def test_the_models_output_carries_routing_and_the_resolved_bounds(prod_plan: Plan) -> None:
    """What `mlplatform models promote --outputs` reads: prod's fraud-detection with the stack's defaults."""
    served = prod_plan.outputs["models"]["fraud-detection"]
    assert served["routing"] == "canary"
    assert served["promotion"] == PromotionConfig().exported()
    assert served["canary"] == {"name": "v2", "path": "fraud-detection/v2", "weight": 10}
