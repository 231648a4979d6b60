"""`mlplatform models promote|rollback`: the evidence rule on worked examples of Prometheus answers, and the stack
file edit on the real Pulumi.prod.yaml (comments and layout kept: only the weight lines change).

Worked example (Pulumi.prod.yaml): fraud-detection serves v1 stable at 90 and v2 canary at 10. Bounds: at most 1%
5xx, p99 at most 1 s, at least 100 requests in the window. Steps 10 -> 25 -> 50 -> 100 (every request on the canary,
the stable version idle), then promotion (the canary becomes stable, the old version goes).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlplatform_client.commands import main
from mlplatform_client.models import moves, stackfile
from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.promotion import Bounds, Decision, decide, queries

ROOT = Path(__file__).resolve().parent.parent
BOUNDS = Bounds(max_error_ratio=0.01, max_p99_seconds=1.0, min_requests=100)


def answer(value: str | None) -> dict[str, Any]:
    """A /api/v1/query answer: one series with the value, or no series at all."""
    series = [] if value is None else [{"metric": {}, "value": [1764672000, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": series}}


def evidence(errors: str | None, p99: str | None, requests: str | None) -> dict[str, dict[str, Any]]:
    return {"error_ratio": answer(errors), "p99_seconds": answer(p99), "requests": answer(requests)}


@pytest.mark.parametrize(
    ("weight", "found", "action", "after"),
    [
        (10, evidence("0.002", "0.250", "1200"), "step", 25),  # healthy: one step up
        (25, evidence("0", "0.4", "900"), "step", 50),
        (50, evidence("0.005", "0.9", "3000"), "step", 100),  # all traffic; the stable version stays up, idle
        (100, evidence("0.005", "0.9", "3000"), "promote", 100),  # healthy with all traffic: becomes stable
        (100, evidence("0.03", "0.9", "3000"), "rollback", 0),  # back to the idle stable version at once
        (25, evidence("0.02", "0.3", "1000"), "rollback", 0),  # 2% errors
        (10, evidence("0.001", "1.5", "1000"), "rollback", 0),  # p99 1.5 s
        (10, evidence("0.5", None, "3"), "rollback", 0),  # failing is enough, however few requests
        (10, evidence("0", "0.2", "40"), "hold", 10),  # 40 requests prove nothing yet
        (10, evidence(None, None, None), "hold", 10),  # no traffic at all: no series
        (10, evidence("NaN", "NaN", "0"), "hold", 10),  # 0/0
    ],
)
def test_the_canary_moves_on_its_evidence(weight: int, found: dict[str, Any], action: str, after: int) -> None:
    decision = decide(weight, BOUNDS, found)
    assert (decision.action, decision.weight) == (action, after), decision.reason


def test_a_failed_query_is_no_evidence() -> None:
    failed = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    found = {"error_ratio": failed, "p99_seconds": failed, "requests": failed}
    assert decide(10, BOUNDS, found).action == "hold"


def test_the_queries_select_the_canary_at_the_gateway() -> None:
    found = queries("fraud-detection", "v2", "10m")
    where = 'reporter="source",destination_service_name="fraud-detection",destination_version="v2"'
    assert found["requests"] == f"sum(increase(istio_requests_total{{{where}}}[10m]))"
    assert f'istio_requests_total{{{where},response_code=~"5.."}}[10m]' in found["error_ratio"]
    assert found["p99_seconds"].startswith("histogram_quantile(0.99, sum by (le) (rate(")


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


PROD = (ROOT / "Pulumi.prod.yaml").read_text()


def models(text: str) -> Any:
    return yaml.safe_load(text)["config"]["mlplatform:models"][0]


def test_a_step_changes_the_two_weights_and_nothing_else() -> None:
    after = stackfile.apply(PROD, "fraud-detection", Decision("step", 25, "healthy"))
    assert changed_lines(PROD, after) == [
        "-      stable: {name: v1, path: fraud-detection/v1, weight: 90}",
        "-      canary: {name: v2, path: fraud-detection/v2, weight: 10}",
        "+      stable: {name: v1, path: fraud-detection/v1, weight: 75}",
        "+      canary: {name: v2, path: fraud-detection/v2, weight: 25}",
    ]


def test_promotion_makes_the_canary_stable_and_keeps_every_comment() -> None:
    after = stackfile.apply(PROD, "fraud-detection", Decision("promote", 100, "healthy"))
    entry = models(after)
    assert entry["stable"] == {"name": "v2", "path": "fraud-detection/v2", "weight": 100}
    assert "canary" not in entry
    comments = [line for line in PROD.splitlines() if "#" in line]
    assert [line for line in after.splitlines() if "#" in line] == comments


def test_rollback_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(PROD)
    assert main(["models", "rollback", "fraud-detection", "--stack-file", str(stack)]) == 0
    assert capsys.readouterr().out == "fraud-detection canary v2: rollback (0%): asked for\n"
    entry = models(stack.read_text())
    assert (entry["stable"]["weight"], entry["canary"]["weight"]) == (100, 0)
    assert len(changed_lines(PROD, stack.read_text())) == 4


def test_a_model_without_a_canary_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((ROOT / "Pulumi.dev.yaml").read_text())
    name = models(stack.read_text())["name"]
    assert main(["models", "rollback", name, "--stack-file", str(stack)]) == 2
    assert capsys.readouterr().err == f"mlplatform: mlplatform:models: {name} has no canary to promote or roll back\n"


def test_blue_green_switches_at_once_and_smoke_traffic_is_its_evidence() -> None:
    """The idle green version (weight 0) answered header-routed smoke requests: that is the evidence for 0 -> 100."""
    blue_green = Bounds(steps=(100,))
    assert decide(0, blue_green, evidence("0", "0.2", "150")) == Decision(
        "step",
        100,
        "error ratio 0.00%, p99 0.200 s over 150 requests: within bounds, 0% -> 100% (the stable "
        "version stays up idle)",
    )
    assert decide(0, blue_green, evidence("0", "0.2", "20")).action == "hold"


STACK_BOUNDS = """\
config:
  mlplatform:promotion: {maxErrorRatio: 0.05, window: 2m}   # the stack's
  mlplatform:models:
    - name: fraud-detection
      accelerator: T4
      routing: blueGreen
      promotion: {minRequests: 20, steps: [50, 100]}   # the model's own
      stable: {name: v1, path: fraud-detection/v1, weight: 100}
      canary: {name: v2, path: fraud-detection/v2, weight: 0}
"""


def options(**given: Any) -> Any:
    import argparse

    values = {"max_error_ratio": None, "max_p99_seconds": None, "min_requests": None, "window": None} | given
    return argparse.Namespace(**values)


def test_bounds_come_from_the_stack_file_and_options_override_them() -> None:
    found, routing = stackfile.settings(STACK_BOUNDS, "fraud-detection")
    assert routing == "blueGreen"
    assert moves.bounds(found, routing, options(), "where") == Bounds(0.05, 1.0, 20, "2m", (100,))
    assert moves.bounds(found, "canary", options(window="30s", max_error_ratio=0.0), "where") == Bounds(
        0.0, 1.0, 20, "30s", (50, 100)
    )


@pytest.mark.parametrize(
    ("found", "problem"),
    [
        ({"maxErrorRatio": "low"}, "where.maxErrorRatio: expected a finite number, got 'low'"),
        ({"maxP99Seconds": float("inf")}, "where.maxP99Seconds: expected a finite number, got inf"),
        ({"steps": [50, 25, 100]}, "where.steps: expected increasing weights ending at 100, got [50, 25, 100]"),
        ({"window": "ten minutes"}, "where.window: expected a PromQL duration such as 10m, got 'ten minutes'"),
    ],
)
def test_bad_bounds_name_the_key(found: dict[str, Any], problem: str) -> None:
    with pytest.raises(ModelsError) as caught:
        moves.bounds(found, "canary", options(), "where")
    assert str(caught.value) == problem


def test_bounds_from_the_stack_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--outputs: the models output's promotion (what `pulumi up` validated) instead of the file's keys; a
    Prometheus that cannot be reached is one line, exit 2, the stack file unchanged."""
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(PROD)
    outputs = tmp_path / "outputs.json"
    served = {"stable": {}, "routing": "canary", "promotion": {"window": "nonsense"}}
    outputs.write_text(json.dumps({"models": {"fraud-detection": served}}))
    args = ["models", "promote", "fraud-detection", "--stack-file", str(stack), "--prometheus", "http://127.0.0.1:9"]
    assert main([*args, "--outputs", str(outputs)]) == 2
    said = capsys.readouterr().err
    assert said == (
        "mlplatform: models.fraud-detection.promotion.window: expected a PromQL duration such as 10m, got 'nonsense'\n"
    )
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("mlplatform: --prometheus http://127.0.0.1:9: error_ratio query failed")
    assert stack.read_text() == PROD
