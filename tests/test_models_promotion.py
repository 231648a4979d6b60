"""`mlplatform models promote|rollback`: the evidence rule on worked examples of Prometheus answers, and the stack
file edit on the real Pulumi.prod.yaml (comments and layout kept: only the weight lines change).

Worked example (Pulumi.prod.yaml): fraud-detection serves v1 stable at 90 and v2 canary at 10. Bounds: at most 1%
5xx, p99 at most 1 s, at least 100 requests in the window. Steps 10 -> 25 -> 50 -> 100 (promotion).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlplatform_client.commands import main
from mlplatform_client.models import stackfile
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
        (50, evidence("0.005", "0.9", "3000"), "promote", 100),  # healthy at the last step: becomes stable
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
