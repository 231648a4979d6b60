"""The drill on valid but unusual stacks: the capacity verdict before any failure comes first, and a failure is
blamed only for what it changes; a stack with no models is not failed for capacity."""

from __future__ import annotations

import dataclasses

from preflight.drill import DrillReport, Routing, render_text, run_drill, serving_targets
from tests.test_drill import PROD_TARGETS, report, small_stack

FAILOVER = Routing("failover", weights=dict.fromkeys(PROD_TARGETS[1:], 1), primary=PROD_TARGETS[0])


def drill(failed: list[str], peak_rps: int) -> DrillReport:
    """130 rps per target (the report helper's); the baseline is what Route 53 answers with nothing failed."""
    return dataclasses.replace(
        report(FAILOVER, failed, peak_rps=peak_rps), baseline_serving=serving_targets(FAILOVER, [])
    )


def test_losing_an_idle_standby_is_not_blamed_for_a_shortfall_that_was_already_there() -> None:
    # The primary alone answers: 130 rps before and after losing a standby, against a peak of 131.
    lost_standby = drill(["aws-eu-west-1"], peak_rps=131)
    assert (lost_standby.baseline_capacity_rps, lost_standby.baseline_verdict) == (130, "insufficient-capacity")
    assert lost_standby.verdict == "insufficient-before-failure" and lost_standby.exit_code == 1
    text = render_text(lost_standby)
    before = text.index("Before any failure: the answered targets carry 130 rps, peak is 131 rps: NOT ENOUGH")
    assert before < text.index("Answers per client region after the failure:")
    assert "the failure changes nothing here: the shortfall is there before it" in text
    assert lost_standby.to_json()["baseline"] == {"capacityRps": 130, "verdict": "insufficient-capacity"}


def test_a_failure_is_blamed_only_when_it_causes_or_deepens_the_shortfall() -> None:
    # Losing the primary: the three standbys answer, 3 x 130 = 390 rps, more than the 130 before; a peak of 391
    # was out of reach before the failure too.
    lost_primary = drill(["aws-us-east-1"], peak_rps=391)
    assert (lost_primary.capacity_rps, lost_primary.verdict) == (390, "insufficient-before-failure")
    # Weighted over four targets carries 4 x 130 = 520 rps; losing three leaves 130, below a peak of 200.
    weighted = Routing("weighted", weights=dict.fromkeys(PROD_TARGETS, 1))
    caused = dataclasses.replace(
        report(weighted, list(PROD_TARGETS[1:]), peak_rps=200), baseline_serving=serving_targets(weighted, [])
    )
    assert (caused.baseline_capacity_rps, caused.baseline_verdict) == (520, "ok")
    assert (caused.verdict, caused.exit_code) == ("insufficient-capacity", 1)
    # Already short before (peak 600 > 520) and the failure deepens it (130 < 520): the failure is blamed.
    deeper = dataclasses.replace(caused, dns=dataclasses.replace(caused.dns, peak_rps=600))
    assert (deeper.baseline_verdict, deeper.verdict) == ("insufficient-capacity", "insufficient-capacity")


def test_a_stack_with_no_models_is_not_failed_for_capacity() -> None:
    plan, config = small_stack("failover")
    no_models = dataclasses.replace(config, models=())
    result = run_drill(plan, no_models, ["azure-swedencentral"])
    assert (result.baseline_verdict, result.verdict, result.exit_code) == ("not-judged", "ok", 0)
    assert result.no_answer == []
    text = render_text(result)
    assert "Before any failure: capacity not judged: the stack serves no models" in text
    assert "Capacity: not judged (no models)" in text and text.endswith("Verdict: ok")
    # Losing every target still leaves clients without an answer, models or not.
    everything = run_drill(plan, no_models, [t.name for t in config.targets])
    assert (everything.verdict, everything.exit_code) == ("no-answer", 1)
