"""The inference client refuses bad input with one clear error, before any request is made.

No servers needed: these are the mistakes a user makes when building a client (no endpoints, an unknown
strategy, an outputs file that is not a stack's), and the pieces whose rules are easiest to see alone
(the breaker's states, tensors' shapes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlplatform_client import (
    AsyncMultiCloudClient,
    BreakerState,
    ConfigError,
    Endpoint,
    Failover,
    Geo,
    MultiCloudClient,
    Tensor,
    endpoints_from_outputs,
)
from mlplatform_client.breaker import CircuitBreaker

HEALTH = "/v2/health/ready"
OUTPUTS: dict[str, Any] = {
    "environment": "dev",
    "endpoints": {
        "aws-us-east-1": {"cloud": "aws", "region": "us-east-1", "address": "203.0.113.24", "healthPath": HEALTH},
        "gcp-us-central1": {"cloud": "gcp", "region": "us-central1", "address": "203.0.113.191", "healthPath": HEALTH},
    },
}


def test_no_endpoints() -> None:
    with pytest.raises(ConfigError, match="no endpoints"):
        MultiCloudClient([])
    with pytest.raises(ConfigError, match="'endpoints' is empty"):
        MultiCloudClient.from_stack_outputs({"endpoints": {}})


def test_unknown_strategy_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match="unknown strategy 'fastest': choose one of failover, geo, latency, round-robin, weighted"
    ):
        MultiCloudClient.from_stack_outputs(OUTPUTS, strategy="fastest")


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown client setting dedline"):
        MultiCloudClient.from_stack_outputs(OUTPUTS, dedline=2.0)
    with pytest.raises(ConfigError, match="deadline must be a finite number of seconds > 0 and at most 86400, got 0"):
        AsyncMultiCloudClient.from_stack_outputs(OUTPUTS, deadline=0)


def test_an_outputs_file_without_endpoints_names_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environment": "dev", "targets": {}}))
    with pytest.raises(ConfigError, match=r"outputs.json: no 'endpoints' key \(keys: environment, targets\)"):
        MultiCloudClient.from_stack_outputs(path)
    path.write_text("not json")
    with pytest.raises(ConfigError, match=r"outputs\.json: not JSON"):
        MultiCloudClient.from_stack_outputs(path)
    with pytest.raises(ConfigError, match="no such file"):
        MultiCloudClient.from_stack_outputs(tmp_path / "missing.json")


def test_secret_outputs_point_to_show_secrets() -> None:
    secret = {"endpoints": {"aws-us-east-1": {**OUTPUTS["endpoints"]["aws-us-east-1"], "address": "[secret]"}}}
    with pytest.raises(ConfigError, match=r"endpoints\.aws-us-east-1\.address is a secret.*--show-secrets"):
        endpoints_from_outputs(secret)


def test_weights_must_name_the_stacks_targets() -> None:
    with pytest.raises(ConfigError, match="weights name targets the stack does not have: azure-eastus"):
        endpoints_from_outputs(OUTPUTS, weights={"azure-eastus": 2})
    assert [e.weight for e in endpoints_from_outputs(OUTPUTS, weights={"aws-us-east-1": 3})] == [3, 1]


def test_strategies_check_their_settings_against_the_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="failover order names unknown targets azure-eastus"):
        MultiCloudClient.from_stack_outputs(OUTPUTS, strategy=Failover(order=["azure-eastus"]))
    for variable in Geo.ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError, match="geo strategy needs the caller's region"):
        MultiCloudClient.from_stack_outputs(OUTPUTS, strategy="geo")
    with pytest.raises(ConfigError, match="caller region 'mars-north-1' is not in the region table"):
        MultiCloudClient.from_stack_outputs(OUTPUTS, strategy=Geo(region="mars-north-1"))
    with pytest.raises(ConfigError, match=r"target x \(, ''\) is not in the region table"):
        MultiCloudClient([Endpoint("x", "http://127.0.0.1:1")], strategy=Geo(region="us-east-1"))
    with pytest.raises(ConfigError, match="every endpoint has weight 0"):
        MultiCloudClient([Endpoint("x", "http://127.0.0.1:1", weight=0)], strategy="weighted")


def test_endpoints_are_checked() -> None:
    with pytest.raises(ConfigError, match="must have no path"):
        Endpoint("x", "http://127.0.0.1:8000/v2")
    with pytest.raises(ConfigError, match="is not http"):
        Endpoint("x", "127.0.0.1:8000")
    with pytest.raises(ConfigError, match="endpoint names must be unique: x given more than once"):
        MultiCloudClient([Endpoint("x", "http://127.0.0.1:1"), Endpoint("x", "http://127.0.0.1:2")])


def test_the_breaker_opens_half_opens_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, cooldown=5.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()  # not consecutive: counting starts again
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.acquire()
    breaker.record_success()  # an answer to a request sent before it opened does not cut the cool-down
    assert breaker.state is BreakerState.OPEN
    now[0] = 5.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() and not breaker.acquire()  # one trial at a time
    breaker.release()
    breaker.record_failure()  # the trial failed: open for another cool-down
    assert breaker.state is BreakerState.OPEN and breaker.times_opened == 2
    now[0] = 10.0
    breaker.record_success()  # a probe succeeded while half-open
    assert breaker.state is BreakerState.CLOSED and breaker.acquire()


def test_tensors_from_nested_lists() -> None:
    tensor = Tensor.of("x", [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert (tensor.shape, tensor.datatype, tensor.data) == ((3, 2), "FP32", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
    assert Tensor.of("n", [1, 2]).datatype == "INT64"
    assert Tensor.of("s", ["a"]).datatype == "BYTES"
    with pytest.raises(ValueError, match="ragged"):
        Tensor.of("x", [[1.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="shape \\[2, 2\\] needs 4 values, got 3"):
        Tensor("x", (2, 2), "FP32", (1.0, 2.0, 3.0))
